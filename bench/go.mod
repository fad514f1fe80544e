module github.com/mocksmtp/mocksmtp/bench

go 1.25

replace github.com/mocksmtp/mocksmtp => ../

require (
	github.com/emersion/go-smtp v0.25.1
	github.com/mocksmtp/mocksmtp v0.0.0-00010101000000-000000000000
	github.com/mocktools/go-smtp-mock/v2 v2.5.4
	go.uber.org/goleak v1.3.0
)

require (
	github.com/emersion/go-message v0.18.2 // indirect
	github.com/emersion/go-msgauth v0.7.0 // indirect
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/xdg-go/scram v1.4.0 // indirect
	github.com/xdg-go/stringprep v1.0.4 // indirect
	golang.org/x/crypto v0.31.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)
