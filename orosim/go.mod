module github.com/orosync/orosync/orosim

go 1.26
