module github.com/orosync/orosync/services/reconciler

go 1.26
