module github.com/mocksmtp/mocksmtp/interop

go 1.25

require go.uber.org/goleak v1.3.0

replace github.com/mocksmtp/mocksmtp => ../
