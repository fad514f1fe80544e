// Package faultset is how the mocksmtp program changes a server's fault
// script with faults it removes one by one (DELETE /api/faults/{id}):
// the root's Server.AddRemovableFault removes the faults of one call
// together, and the program adds several faults in one step (POST, PUT,
// -faults) whose ids it removes each on its own. It is the same
// mechanism: the faults are armed as AddRemovableFault arms them, and
// each remove takes out its own fault, the others keeping their state.
// Only this module can name its types, so no other package implements
// Carrier.
package faultset

// Change adds faults at the end of the script (replace false) or
// replaces the script with them, in one step, as AddFault or
// ReplaceFaults would, and returns the function that removes each fault,
// in order: removes[i] removes faults[i], in one step, and does nothing
// when called again or once the fault is gone. On error it changes
// nothing.
type Change[F any] func(replace bool, faults []F) (removes []func(), err error)

// Carrier is an option of mocksmtp.New that takes the server's Change,
// and the removes of the faults New was given (WithFault), in order,
// once the server is made; New applies nothing else of it.
type Carrier[F any] interface {
	TakeFaultChange(change Change[F], removes []func())
}
