module github.com/orosync/orosync/services/poller

go 1.26
