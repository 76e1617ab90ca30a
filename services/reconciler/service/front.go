package service

import "github.com/orosync/orosync/services/reconciler/domain"

// ErrTooManyDeletes is matched (errors.Is) by the error of a pass the deletion breaker stopped.
var ErrTooManyDeletes = domain.ErrTooManyDeletes
