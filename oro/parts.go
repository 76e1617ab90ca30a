package oro

// Parts are the relationships whose related resources are part of a record of the given type: its addresses
// (reference §3.1, §3.2, §3.4, §3.6; accounts have none, their addresses are their b2b customers'). They are read
// with the record (include=…), kept with it in ORO_RAW, and hashed and versioned with it, because Oro writes a
// contact's or lead's address without touching the owner's updatedAt.
func Parts(typ string) []string {
	switch typ {
	case "contacts", "leads":
		return []string{"addresses"}
	case "b2bcustomers":
		return []string{"billingAddress", "shippingAddress"}
	}
	return nil
}
