package rowkit

// Mercato entities whose columns orosync writes, as encryption_maps and custom_field_defs name them.
const (
	EntityCustomerEntity = "customers:customer_entity"
	EntityPersonProfile  = "customers:customer_person_profile"
	EntityCompanyProfile = "customers:customer_company_profile"
	EntityAddress        = "customers:customer_address"
	EntityDeal           = "customers:customer_deal"
	EntityInteraction    = "customers:customer_interaction"
	EntityComment        = "customers:customer_comment"
)

// DefaultEncryptedColumns are the encryption maps Mercato's setup seeds for a tenant of the customers module
// (core/customers/encryption.ts, by column).
func DefaultEncryptedColumns() map[string][]string {
	return map[string][]string{
		EntityAddress: {"name", "company_name", "address_line1", "address_line2", "city", "region", "postal_code", "country",
			"building_number", "flat_number"},
		EntityCustomerEntity:          {"display_name", "primary_email", "primary_phone", "next_interaction_name", "description"},
		EntityDeal:                    {"title", "description"},
		"customers:customer_activity": {"subject", "body"},
		EntityInteraction:             {"title", "body"},
		EntityComment:                 {"body"},
		EntityPersonProfile: {"first_name", "last_name", "preferred_name", "job_title", "department", "seniority", "timezone",
			"linked_in_url", "twitter_url"},
		EntityCompanyProfile: {"legal_name", "brand_name", "domain", "website_url", "industry"},
	}
}

// Columns encrypts the columns of one Mercato entity that its tenant's encryption map lists; the zero value (a
// tenant without encryption) encrypts nothing. Reading is lenient whatever the map says, as Mercato's is: a value
// not in the payload format is plaintext.
type Columns struct {
	c   *Cipher
	set map[string]bool
}

// NewColumns encrypts the listed columns with c.
func NewColumns(c *Cipher, columns map[string]bool) Columns { return Columns{c: c, set: columns} }

// Of is the cipher of a column, nil when the column is stored as plaintext.
func (k Columns) Of(column string) *Cipher {
	if k.set[column] {
		return k.c
	}
	return nil
}

// Enc is v as the column stores it.
func (k Columns) Enc(column, v string) string { return k.Of(column).Enc(v) }

// EncPtr is v as the column stores it.
func (k Columns) EncPtr(column string, v *string) *string { return k.Of(column).EncPtr(v) }

// Keep is the stored value cur when it reads as want (so SQL comparisons see no change), else want as the column
// stores it.
func (k Columns) Keep(column string, cur, want *string) *string {
	if want == nil {
		return nil
	}
	if cur != nil && *k.c.DecPtr(cur) == *want {
		return cur
	}
	return k.EncPtr(column, want)
}

// Dec reads a stored value (nil-safe, lenient).
func (k Columns) Dec(v *string) *string { return k.c.DecPtr(v) }
