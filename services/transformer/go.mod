module github.com/orosync/orosync/services/transformer

go 1.26
