package main

import "flag"

// long switches the tests and benchmarks that default to small sizes to the issues' acceptance sizes (make bench):
// the replay with a changed mapping and the reconciler on 100,000 contacts, the end-to-end replay of 1,000,000.
var long = flag.Bool("long", false, "run the full acceptance sizes (slow)")
