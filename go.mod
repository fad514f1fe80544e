module github.com/mocksmtp/mocksmtp

go 1.25

require (
	github.com/emersion/go-message v0.18.2
	github.com/emersion/go-msgauth v0.7.0
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/google/go-cmp v0.7.0
	github.com/xdg-go/scram v1.4.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/xdg-go/stringprep v1.0.4 // indirect
	golang.org/x/crypto v0.31.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)
