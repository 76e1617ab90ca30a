package domain

import "time"

// Supersede is the updatedAt a changed version gets when its own does not come after the version last published:
// Oro removes a contact's address without touching the contact, so the new version (another hash, the same
// updatedAt) would tie with the last one, and the tie would go to whichever hash sorts higher. It becomes the time
// the change was seen, Oro's clock (the Date of the response) in whole seconds, or a second after the last
// version when that clock is not later. ok is false when the version is already newer, or either has no time.
func Supersede(updatedAt *time.Time, last time.Time, serverNow time.Time) (time.Time, bool) {
	if updatedAt == nil || last.IsZero() || updatedAt.After(last) {
		return time.Time{}, false
	}
	at := serverNow.UTC().Truncate(time.Second)
	if !at.After(last) {
		at = last.UTC().Truncate(time.Second).Add(time.Second)
	}
	return at, true
}
