// Links from Mercato's External IDs panel to the record in Oro's back office. Pure.

// Oro's view routes per JSON:API type (Oro's controllers: /contact/view/{id}, /account/view/{id}, ...). Notes have
// no page of their own (Oro shows them on their target), so they get no link.
const VIEW_ROUTES: Record<string, string> = {
  contacts: 'contact',
  accounts: 'account',
  leads: 'lead',
  opportunities: 'opportunity',
  b2bcustomers: 'b2bcustomer',
  tasks: 'task',
  calls: 'call',
  emails: 'email',
  cases: 'case',
  users: 'user',
}

// oroWebBase turns the configured Oro URL (the JSON:API base `https://crm/api`, `https://crm/admin/api`, or the
// back office itself) into the back-office base, without a trailing slash.
export function oroWebBase(url: string): string | undefined {
  const trimmed = url.trim().replace(/\/+$/, '')
  if (!/^https?:\/\//i.test(trimmed)) return undefined
  return trimmed.replace(/\/api$/i, '')
}

// externalUrl links an external id to its Oro page. The id names its Oro type (`contacts:42`, `contacts/42`); a bare
// id does not say whether it is a contact or a lead (both become people), so it gets no link rather than a wrong one.
export function externalUrl(oroUrl: string | undefined, externalId: string): string | undefined {
  if (!oroUrl) return undefined
  const base = oroWebBase(oroUrl)
  const m = /^([a-z0-9_]+)[:/](\d+)$/i.exec(externalId.trim())
  if (!base || !m) return undefined
  const route = VIEW_ROUTES[m[1].toLowerCase()]
  return route ? `${base}/${route}/view/${m[2]}` : undefined
}
