import { describe, expect, it } from 'vitest'
import { externalUrl, oroWebBase } from '../lib/links'

describe('external links', () => {
  it('links a typed id to its Oro view page, from the API base or the back office', () => {
    expect(externalUrl('https://crm.example.com/api', 'contacts:42')).toBe('https://crm.example.com/contact/view/42')
    expect(externalUrl('https://crm.example.com/admin/api/', 'accounts/7')).toBe('https://crm.example.com/admin/account/view/7')
    expect(externalUrl('https://crm.example.com', 'opportunities:3')).toBe('https://crm.example.com/opportunity/view/3')
  })
  it('gives no link where it cannot tell the record: bare ids, notes, no URL', () => {
    expect(externalUrl('https://crm.example.com/api', '42')).toBeUndefined()
    expect(externalUrl('https://crm.example.com/api', 'notes:42')).toBeUndefined()
    expect(externalUrl(undefined, 'contacts:42')).toBeUndefined()
    expect(externalUrl('crm.example.com', 'contacts:42')).toBeUndefined()
  })
  it('strips the API suffix only', () => {
    expect(oroWebBase('http://127.0.0.1:8080/api')).toBe('http://127.0.0.1:8080')
    expect(oroWebBase('http://h/apiary')).toBe('http://h/apiary')
  })
})
