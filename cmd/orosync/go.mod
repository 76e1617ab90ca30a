module github.com/orosync/orosync/cmd/orosync

go 1.26
