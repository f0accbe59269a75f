// Package idprime is the cardreader backend for Thales IDPrime cards, the
// cards SITHS issues (IDPrime 940), speaking the IDPrime applet over PC/SC
// (cardreader/pcsc, over github.com/ebfe/scard) with no middleware.
//
// # Sources
//
// Thales publishes no specification of the applet. What this package sends
// is what OpenSC's idprime driver sends (src/libopensc/card-idprime.c and
// pkcs15-idprime.c, tags 0.23.0–0.27.1), summarised in the project's
// FIELD-NOTES "IDPrime 940":
//
//   - ATR: OpenSC's catch-all IDPrime entry (3B 7F .. 00 00 80 31 80 65 B0
//     .. .. .. .. 12 .. .. 82 90 00). A card with another ATR is refused
//     with cardreader.ErrUnsupportedCard before any APDU.
//   - Applet A0 00 00 00 18 80 00 00 00 06 62, selected with P2 = 0C (00 on
//     6A86). Files by FID (00 A4 08 00, FCI with the size in tag 80/81), read
//     with short READ BINARY of up to 256 bytes.
//   - 0101 index: N records of 21 bytes (FID, size, name, directory,
//     flags). Certificates are kxcNN/kscNN in mscp, raw DER or
//     01 00 <length LE16> <zlib>. 0201 cardid (16 bytes) is OpenSC's
//     serial; the card ID here is the chip's identity in the CPLC (GET
//     DATA 9F7F, one APDU; OpenSC reads it too), the cardid only on a card
//     without one.
//     0204 cmapfile: 86-byte minidriver container records. 0005 (940): 8-byte
//     key-reference records (key reference, container, PIN index).
//   - Key reference: from 0005, else 0x56 + container (OpenSC 0.23, V4).
//   - PINs: identification PIN 0x11, signature PIN 0x83 (940, OpenSC 0.24+),
//     ASCII digits padded with 00 to 16 bytes. An empty VERIFY reads the
//     tries (63Cx, 6983 blocked) without spending one.
//   - Signing: MSE SET 00 22 41 B6 (80 algorithm, 84 key reference), PSO
//     HASH 00 2A 90 A0 with the hash in template 90, PSO COMPUTE DIGITAL
//     SIGNATURE 00 2A 9E 9A. Algorithms 42/52/62 PKCS#1 v1.5 over
//     SHA-256/384/512, 02 with a DigestInfo, 45/55/65 RSA-PSS (MGF1 with
//     the same hash, salt = hash length), 44 ECDSA.
//
// Not public, chosen here (the project's IDPrime wire contract, shared with
// the virtual card in internal/testkit/vcard); each is one named constant:
//
//   - The PUK's reference, refPUK = 0x12, read for free with an empty VERIFY
//     (OpenSC has no PUK object for IDPrime). A card without it answers
//     6A88: cardreader.ErrNoPUK.
//   - Unblock is RESET RETRY COUNTER 00 2C 00 <PIN ref> 20 <PUK><new PIN>,
//     the form OpenSC sends with user_pin_unblock_style; whether a real 940
//     takes it is not public.
//   - A card without a signature PIN answers 6A88 to the empty VERIFY of
//     0x83: cardreader.ErrNoSignaturePIN.
//   - Certificate.ID is the certificate's file name ("kxc00", "ksc01").
//
// Deleting a certificate is not supported (cardreader.ErrRemovalUnsupported):
// no public source says how the applet deletes a file or a key. Thales
// SAC's PKCS#11 module can; use the pkcs11 backend with it.
//
// # Card handling
//
// Every operation opens the card (shared access, one PC/SC transaction),
// selects the applet, does its work with short APDUs and releases the card;
// operations on one reader are serialised by a mutex. The index is read at
// most once per operation. A PIN is checked for form (6–8 digits, a PUK 8)
// before it reaches the card; VerifyPIN, ChangePIN and the unblocks read the
// tries first and refuse a blocked PIN or PUK without presenting it. PIN
// bytes go from the cardreader.Secret straight into the APDU buffer, which
// is zeroed after transmit. After an operation that presented a PIN or the
// PUK the card is reset on release (the applet has no logout APDU), so no
// other program finds it verified.
//
// Errors: 63Cx is *cardreader.WrongPINError or *cardreader.WrongPUKError
// with the tries left, 6983 ErrPINBlocked or ErrPUKBlocked; PC/SC return
// codes are *cardreader.PCSCError (card removed, no reader, no service,
// card busy); a response without a status word (a card pulled mid-exchange)
// is ErrCardRemoved once PC/SC confirms the reader is empty; other status
// words are *cardreader.CardError.
package idprime
