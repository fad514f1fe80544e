package rawreply

import "testing"

func TestStartsTLS(t *testing.T) {
	for raw, want := range map[string]bool{
		"220 2.0.0 go ahead\r\n":          true,
		"220 go\n":                        true,
		"220\r\n":                         true,
		"220-TLS\r\n220 go\r\n":           true,
		"250 2.0.0 ok, TLS\r\n":           false,
		"220 go\r":                        false, // unfinished: the client waits for its LF
		"220 go":                          false,
		"2":                               false,
		"":                                false,
		"220-TLS\r\n":                     false, // a line that says more follow
		"220 go\r\n454 4.7.0 not now\r\n": false,
		"2200 go\r\n":                     false,
		" 220 go\r\n":                     false,
		"454 4.7.0 TLS not available\r\n": false,
	} {
		if got := StartsTLS([]byte(raw)); got != want {
			t.Errorf("StartsTLS(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestAccepts(t *testing.T) {
	for raw, want := range map[string]bool{"250 ok\r\n": true, "2": true, "": false, "451 no\r\n": false, " 250\r\n": false} {
		if got := Accepts([]byte(raw)); got != want {
			t.Errorf("Accepts(%q) = %v, want %v", raw, got, want)
		}
	}
}
