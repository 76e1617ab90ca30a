module github.com/orosync/orosync/services/writer

go 1.26
