package mocksmtp

import "testing"

// checkExpectations reports unmet expectations at cleanup.
// (placeholder until expectations land)
func (s *Server) checkExpectations(t testing.TB) {}
