// Package pkcs11 is the cardreader backend for cards used through a PKCS#11
// module: the real SITHS IDPrime cards through Thales SafeNet Authentication
// Client or OpenSC, and SoftHSM2 in tests. It uses github.com/miekg/pkcs11
// (cgo).
//
// # Module
//
// Options.ModulePath names the module; empty means the first of
// DefaultModulePaths that exists and loads: Thales SAC, then OpenSC, per OS
// (module_linux.go, module_windows.go, module_darwin.go). A missing module is
// a *ModuleError wrapping ErrNoModule; a file that is not a PKCS#11 module
// wraps ErrModuleLoad. Backend.Open reports both as also wrapping
// cardreader.ErrUnsupportedCard, so backend selection moves on.
//
// C_Initialize is per process, so a module is loaded and initialised once
// per process (on first use) and shared, reference-counted, by every Backend
// on the same path; the last Backend.Close calls C_Finalize. The library is
// never unloaded.
//
// # Sessions
//
// Every Card method opens a session, does one operation and closes it; no
// session is held while idle, so the card is free for browsers and other
// middleware. Operations on one slot are serialised process-wide (waiting
// respects the context), and ctx is checked before each blocking step.
//
// A PKCS#11 call in progress cannot be interrupted, and a pulled card can
// leave one stuck for good (measured with OpenSC 0.23 under pcscd 1.9.9 and
// vpcd: a card pulled during or between the APDUs of a login leaves OpenSC
// waiting in SCardTransmit; a pull during a signature returns
// CKR_DEVICE_REMOVED at once). So the calls run on their own goroutine and
// every method returns when its context ends, with an error wrapping the
// context's error; the stuck call keeps its slot (and, for OpenSC, the
// whole module) busy until it returns. Give card operations a deadline.
// PINs are copied for each operation and the copy wiped when the module is
// done with it, so wiping the caller's Secret after an abandoned call cannot
// turn a login in flight into a wrong-PIN try. Close waits at most 5 s for
// C_Finalize.
//
// # Slots and readers
//
// Open finds the slot whose description is the PC/SC reader name (OpenSC
// and SAC name slots after readers; the description is cut at 64 bytes).
// When one reader has several slots (OpenSC gives the IDPrime 940 one per
// PIN), the first, holding the user PIN, is the card. Cards lists every slot
// with a token; a slot that is not a removable reader (SoftHSM) has
// Reader() "". A Card is one insertion: once it has seen the card removed,
// or another token in its slot, it returns cardreader.ErrCardRemoved for
// good.
//
// # PIN and PUK
//
// PKCS#11 has no retry counter, only token flags; PINStatus maps them to
// the SITHS policy of three tries: LOCKED → 0 (blocked), FINAL_TRY → 1,
// COUNT_LOW → 2, none → 3. OpenSC 0.23 in front of a PIV card never sets
// COUNT_LOW, so a Card also counts wrong PINs it has seen since the last good
// one and reads "no flag, but a wrong PIN seen" as 2; a wrong PIN entered
// by another process still reads 3 there until the card's last try.
//
// The PUK is the Security Officer PIN: UnblockPIN is C_Login(CKU_SO) then
// C_InitPIN. PKCS#11 cannot say whether a token has a usable SO PIN, so
// Options.PUK decides; by default (PUKAuto) OpenSC's tokens have none (its
// PIV emulation refuses the SO login with CKR_GENERAL_ERROR, its idprime
// driver defines no PUK) and PUKStatus and UnblockPIN return
// ErrUnblockUnsupported, which wraps cardreader.ErrNoPUK.
//
// # Signing
//
// Card.Signer returns a *Signer (a crypto.Signer) for the private key with
// the certificate's CKA_ID. RSA PKCS #1 v1.5 uses CKM_RSA_PKCS over a
// DigestInfo built here; RSA-PSS uses CKM_RSA_PKCS_PSS when the slot lists it,
// else CKM_RSA_X_509 with EMSA-PSS padding built here, else it is not offered
// (SupportsPSS). ECDSA uses CKM_ECDSA and returns ASN.1. Keys with
// CKA_ALWAYS_AUTHENTICATE get the PIN again as CKU_CONTEXT_SPECIFIC.
//
// # Removing certificates
//
// RemoveCertificate logs in and destroys the certificate and the key
// objects with its CKA_ID. OpenSC 0.23 refuses C_DestroyObject on a PIV card
// (CKR_FUNCTION_NOT_SUPPORTED → ErrRemoveUnsupported); the PIV backend
// removes certificates there.
//
// # Secrets
//
// miekg/pkcs11 takes PINs as Go strings: the PIN is passed as a string view
// of the cardreader.Secret's bytes (no Go copy) and miekg copies it into C
// memory for the call, which it frees without zeroing.
package pkcs11
