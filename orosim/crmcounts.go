package orosim

// CRMCounts returns Config.Counts for a CRM of the given number of contacts, at the ratios of a real instance:
// per 5,000 contacts 500 accounts, 100 b2b customers, 600 leads, 800 opportunities, 100 cases, 2,000 tasks,
// 1,500 calls, 1,500 notes, 2,000 emails, 5,000 contact addresses (0 to 3 a contact), 300 lead addresses (one a
// lead, half of them), 150 b2b customer addresses (billing, half also shipping), with 20 users, 3 business
// units and one organization.
func CRMCounts(contacts int) map[string]int {
	per := func(n int) int { return max(1, contacts*n/5000) }
	return map[string]int{
		"contacts": contacts, "contactaddresses": contacts, "leadaddresses": per(300), "addresses": per(150),
		"accounts": per(500), "b2bcustomers": per(100), "leads": per(600), "opportunities": per(800), "cases": per(100),
		"tasks": per(2000), "calls": per(1500), "notes": per(1500), "emails": per(2000),
		"users": max(5, contacts/250), "businessunits": 3, "organizations": 1,
	}
}
