/*
 * winscard.dll for the Windows lane under Wine (test only, never shipped):
 * a winelib DLL (built with winegcc by scripts/wine-lane) whose exports
 * take the Win64 WinSCard ABI and forward each call to the host's
 * libpcsclite (loaded with dlopen, so its symbols do not clash with ours),
 * which talks to the test's pcscd (PCSCLITE_CSOCK_NAME). Wine 8.0's own
 * winscard.dll is stubs.
 *
 * What differs between the two ABIs (from the WinSCard and pcsclite API
 * documentation), and is converted here:
 *   - DWORD and LONG are 32 bits on Win64; pcsclite's are unsigned long
 *     and long, 64 bits on Linux x86-64: every DWORD* goes through a
 *     temporary, every return value is truncated to 32 bits;
 *   - SCARD_IO_REQUEST is two DWORDs (8 bytes) on Windows, two unsigned
 *     longs (16) in pcsclite;
 *   - SCARD_READERSTATEW has 32-bit state fields, UTF-16 names and a
 *     36-byte ATR; pcsclite's SCARD_READERSTATE has 64-bit fields, UTF-8
 *     names and a 33-byte ATR;
 *   - the raw protocol is 0x10000 on Windows, 4 in pcsclite;
 *   - SCardStatus's state is an enumeration (0..6) on Windows, a bit mask
 *     in pcsclite;
 *   - SCardControl codes are SCARD_CTL_CODE(c) = 0x310000 | c << 2 on
 *     Windows, 0x42000000 + c in pcsclite;
 *   - the W functions take UTF-16; pcsclite takes UTF-8.
 * SCARD_AUTOALLOCATE is not supported (the Go libraries do not use it):
 * such a call gets SCARD_E_INVALID_PARAMETER, never a wrong answer.
 *
 * A NULL pioSendPci in SCardTransmit is taken as the card's active
 * protocol (what piv-go passes on Windows); the lane's log says so with
 * WINELANE_SCARD_TRACE=1.
 *
 * WINELANE_SCARD_DISABLE=1 in the environment makes SCardEstablishContext
 * fail with SCARD_E_NO_SERVICE: a process with no card access of its own
 * (the lane proves the CLI then reaches the card through the agent).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINAPI __attribute__((ms_abi))

typedef uint32_t DWORD32;
typedef uint16_t WCHAR16;

/* pcsclite's types (Linux x86-64) */
typedef long PLONG_;
typedef unsigned long PDWORD_;
typedef long PHANDLE_;
typedef struct {
	PDWORD_ dwProtocol;
	PDWORD_ cbPciLength;
} PIOREQ;
#define P_MAX_ATR 33
typedef struct {
	const char *szReader;
	void *pvUserData;
	PDWORD_ dwCurrentState;
	PDWORD_ dwEventState;
	PDWORD_ cbAtr;
	unsigned char rgbAtr[P_MAX_ATR];
} PRSTATE;

/* Windows' (Win64) */
typedef struct {
	DWORD32 dwProtocol;
	DWORD32 cbPciLength;
} WIOREQ;
#define W_MAX_ATR 36
typedef struct {
	const WCHAR16 *szReader;
	void *pvUserData;
	DWORD32 dwCurrentState;
	DWORD32 dwEventState;
	DWORD32 cbAtr;
	unsigned char rgbAtr[W_MAX_ATR];
} WRSTATEW;

const WIOREQ g_rgSCardT0Pci = {1, sizeof(WIOREQ)};
const WIOREQ g_rgSCardT1Pci = {2, sizeof(WIOREQ)};
const WIOREQ g_rgSCardRawPci = {0x10000, sizeof(WIOREQ)};

#define S_OK_ 0
#define E_INVALID_PARAMETER 0x80100004u
#define E_INSUFFICIENT_BUFFER 0x80100008u
#define E_NO_MEMORY 0x80100006u
#define E_NO_SERVICE 0x8010001Du
#define W_AUTOALLOCATE 0xFFFFFFFFu
#define W_PROTO_RAW 0x10000u
#define P_PROTO_RAW 4u

static void *lib;
static int trace;

#define P(name, ret, args) static ret(*p_##name) args
P(SCardEstablishContext, PLONG_, (PDWORD_, const void *, const void *, PHANDLE_ *));
P(SCardReleaseContext, PLONG_, (PHANDLE_));
P(SCardIsValidContext, PLONG_, (PHANDLE_));
P(SCardCancel, PLONG_, (PHANDLE_));
P(SCardListReaders, PLONG_, (PHANDLE_, const char *, char *, PDWORD_ *));
P(SCardListReaderGroups, PLONG_, (PHANDLE_, char *, PDWORD_ *));
P(SCardGetStatusChange, PLONG_, (PHANDLE_, PDWORD_, PRSTATE *, PDWORD_));
P(SCardConnect, PLONG_, (PHANDLE_, const char *, PDWORD_, PDWORD_, PHANDLE_ *, PDWORD_ *));
P(SCardReconnect, PLONG_, (PHANDLE_, PDWORD_, PDWORD_, PDWORD_, PDWORD_ *));
P(SCardDisconnect, PLONG_, (PHANDLE_, PDWORD_));
P(SCardBeginTransaction, PLONG_, (PHANDLE_));
P(SCardEndTransaction, PLONG_, (PHANDLE_, PDWORD_));
P(SCardStatus, PLONG_, (PHANDLE_, char *, PDWORD_ *, PDWORD_ *, PDWORD_ *, unsigned char *, PDWORD_ *));
P(SCardTransmit, PLONG_, (PHANDLE_, const PIOREQ *, const unsigned char *, PDWORD_, PIOREQ *, unsigned char *, PDWORD_ *));
P(SCardControl, PLONG_, (PHANDLE_, PDWORD_, const void *, PDWORD_, void *, PDWORD_, PDWORD_ *));
P(SCardGetAttrib, PLONG_, (PHANDLE_, PDWORD_, unsigned char *, PDWORD_ *));
P(SCardSetAttrib, PLONG_, (PHANDLE_, PDWORD_, const unsigned char *, PDWORD_));

static int load(void)
{
	if (lib)
		return 1;
	const char *t = getenv("WINELANE_SCARD_TRACE");
	trace = t && *t == '1';
	lib = dlopen("libpcsclite.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "winelane winscard: %s\n", dlerror());
		return 0;
	}
#define L(name)                                                  \
	do {                                                     \
		*(void **)&p_##name = dlsym(lib, #name);          \
		if (!p_##name) {                                 \
			fprintf(stderr, "winelane winscard: no %s\n", #name); \
			return 0;                                \
		}                                                \
	} while (0)
	L(SCardEstablishContext);
	L(SCardReleaseContext);
	L(SCardIsValidContext);
	L(SCardCancel);
	L(SCardListReaders);
	L(SCardListReaderGroups);
	L(SCardGetStatusChange);
	L(SCardConnect);
	L(SCardReconnect);
	L(SCardDisconnect);
	L(SCardBeginTransaction);
	L(SCardEndTransaction);
	L(SCardStatus);
	L(SCardTransmit);
	L(SCardControl);
	L(SCardGetAttrib);
	L(SCardSetAttrib);
	return 1;
}

#define TRACE(...)                                       \
	do {                                             \
		if (trace)                               \
			fprintf(stderr, "winelane winscard: " __VA_ARGS__); \
	} while (0)

static DWORD32 rc(PLONG_ r) { return (DWORD32)(uint64_t)r; }

/* UTF-8 (multi-)string of n bytes to UTF-16; returns code units written
 * (or needed when out is NULL). */
static size_t utf8_to_16(const char *in, size_t n, WCHAR16 *out)
{
	size_t i = 0, o = 0;
	const unsigned char *s = (const unsigned char *)in;
	while (i < n) {
		uint32_t c = s[i];
		int k = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
		c = k == 0 ? c : k == 1 ? c & 0x1F : k == 2 ? c & 0x0F : c & 0x07;
		i++;
		while (k-- > 0 && i < n)
			c = (c << 6) | (s[i++] & 0x3F);
		if (c >= 0x10000) {
			c -= 0x10000;
			if (out) {
				out[o] = 0xD800 | (c >> 10);
				out[o + 1] = 0xDC00 | (c & 0x3FF);
			}
			o += 2;
		} else {
			if (out)
				out[o] = (WCHAR16)c;
			o++;
		}
	}
	return o;
}

/* NUL-terminated UTF-16 to a malloc'd UTF-8 string. */
static char *utf16_to_8(const WCHAR16 *w)
{
	size_t n = 0;
	while (w[n])
		n++;
	char *out = malloc(4 * n + 1), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = w[i];
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
			c = 0x10000 + ((c - 0xD800) << 10) + (w[i + 1] - 0xDC00);
			i++;
		}
		if (c < 0x80) {
			*p++ = c;
		} else if (c < 0x800) {
			*p++ = 0xC0 | (c >> 6);
			*p++ = 0x80 | (c & 0x3F);
		} else if (c < 0x10000) {
			*p++ = 0xE0 | (c >> 12);
			*p++ = 0x80 | ((c >> 6) & 0x3F);
			*p++ = 0x80 | (c & 0x3F);
		} else {
			*p++ = 0xF0 | (c >> 18);
			*p++ = 0x80 | ((c >> 12) & 0x3F);
			*p++ = 0x80 | ((c >> 6) & 0x3F);
			*p++ = 0x80 | (c & 0x3F);
		}
	}
	*p = 0;
	return out;
}

static DWORD32 proto_to_win(PDWORD_ p)
{
	DWORD32 w = (DWORD32)(p & 3);
	if (p & P_PROTO_RAW)
		w |= W_PROTO_RAW;
	return w;
}

static PDWORD_ proto_from_win(DWORD32 w)
{
	PDWORD_ p = w & 3;
	if (w & W_PROTO_RAW)
		p |= P_PROTO_RAW;
	return p;
}

WINAPI DWORD32 SCardEstablishContext(DWORD32 scope, const void *r1, const void *r2, uint64_t *ctx)
{
	const char *off = getenv("WINELANE_SCARD_DISABLE");
	if (off && *off == '1') {
		TRACE("disabled by WINELANE_SCARD_DISABLE\n");
		return E_NO_SERVICE;
	}
	if (!ctx)
		return E_INVALID_PARAMETER;
	if (!load())
		return E_NO_SERVICE;
	PHANDLE_ h = 0;
	DWORD32 r = rc(p_SCardEstablishContext(scope, r1, r2, &h));
	*ctx = (uint64_t)h;
	TRACE("EstablishContext -> %08x\n", r);
	return r;
}

WINAPI DWORD32 SCardReleaseContext(uint64_t ctx)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardReleaseContext((PHANDLE_)ctx));
}

WINAPI DWORD32 SCardIsValidContext(uint64_t ctx)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardIsValidContext((PHANDLE_)ctx));
}

WINAPI DWORD32 SCardCancel(uint64_t ctx)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardCancel((PHANDLE_)ctx));
}

/* A pcsclite multi-string (UTF-8, n bytes with the final NULs) out as a
 * UTF-16 multi-string into buf of *len units (the WinSCard convention:
 * buf NULL asks for the length). */
static DWORD32 multi_out(const char *s, PDWORD_ n, WCHAR16 *buf, DWORD32 *len)
{
	size_t need = utf8_to_16(s, n, NULL);
	if (!buf) {
		*len = (DWORD32)need;
		return S_OK_;
	}
	if (*len < need) {
		*len = (DWORD32)need;
		return E_INSUFFICIENT_BUFFER;
	}
	utf8_to_16(s, n, buf);
	*len = (DWORD32)need;
	return S_OK_;
}

WINAPI DWORD32 SCardListReadersW(uint64_t ctx, const WCHAR16 *groups, WCHAR16 *buf, DWORD32 *len)
{
	if (!load())
		return E_NO_SERVICE;
	if (!len || *len == W_AUTOALLOCATE)
		return E_INVALID_PARAMETER;
	(void)groups; /* pcsclite ignores groups too */
	PDWORD_ n = 0;
	PLONG_ r = p_SCardListReaders((PHANDLE_)ctx, NULL, NULL, &n);
	if (r != 0) {
		TRACE("ListReaders -> %08x\n", rc(r));
		return rc(r);
	}
	char *s = malloc(n ? n : 1);
	if (!s)
		return E_NO_MEMORY;
	r = p_SCardListReaders((PHANDLE_)ctx, NULL, s, &n);
	DWORD32 out = r ? rc(r) : multi_out(s, n, buf, len);
	free(s);
	TRACE("ListReaders -> %08x\n", out);
	return out;
}

WINAPI DWORD32 SCardListReaderGroupsW(uint64_t ctx, WCHAR16 *buf, DWORD32 *len)
{
	if (!load())
		return E_NO_SERVICE;
	if (!len || *len == W_AUTOALLOCATE)
		return E_INVALID_PARAMETER;
	PDWORD_ n = 0;
	PLONG_ r = p_SCardListReaderGroups((PHANDLE_)ctx, NULL, &n);
	if (r != 0)
		return rc(r);
	char *s = malloc(n ? n : 1);
	if (!s)
		return E_NO_MEMORY;
	r = p_SCardListReaderGroups((PHANDLE_)ctx, s, &n);
	DWORD32 out = r ? rc(r) : multi_out(s, n, buf, len);
	free(s);
	return out;
}

WINAPI DWORD32 SCardGetStatusChangeW(uint64_t ctx, DWORD32 timeout, WRSTATEW *states, DWORD32 count)
{
	if (!load())
		return E_NO_SERVICE;
	if (count > 0 && !states)
		return E_INVALID_PARAMETER;
	PRSTATE *ps = calloc(count ? count : 1, sizeof *ps);
	if (!ps)
		return E_NO_MEMORY;
	for (DWORD32 i = 0; i < count; i++) {
		ps[i].szReader = states[i].szReader ? utf16_to_8(states[i].szReader) : NULL;
		ps[i].pvUserData = states[i].pvUserData;
		ps[i].dwCurrentState = states[i].dwCurrentState;
		ps[i].dwEventState = states[i].dwEventState;
		ps[i].cbAtr = states[i].cbAtr > P_MAX_ATR ? P_MAX_ATR : states[i].cbAtr;
		memcpy(ps[i].rgbAtr, states[i].rgbAtr, ps[i].cbAtr);
	}
	PDWORD_ t = timeout == 0xFFFFFFFFu ? 0xFFFFFFFFul : timeout;
	DWORD32 r = rc(p_SCardGetStatusChange((PHANDLE_)ctx, t, ps, count));
	for (DWORD32 i = 0; i < count; i++) {
		states[i].dwEventState = (DWORD32)ps[i].dwEventState;
		DWORD32 n = ps[i].cbAtr > W_MAX_ATR ? W_MAX_ATR : (DWORD32)ps[i].cbAtr;
		states[i].cbAtr = n;
		memcpy(states[i].rgbAtr, ps[i].rgbAtr, n);
		free((void *)ps[i].szReader);
	}
	free(ps);
	TRACE("GetStatusChange(%u readers, %u ms) -> %08x\n", count, timeout, r);
	return r;
}

WINAPI DWORD32 SCardConnectW(uint64_t ctx, const WCHAR16 *reader, DWORD32 share, DWORD32 protos, uint64_t *card, DWORD32 *active)
{
	if (!load())
		return E_NO_SERVICE;
	if (!reader || !card)
		return E_INVALID_PARAMETER;
	char *r8 = utf16_to_8(reader);
	if (!r8)
		return E_NO_MEMORY;
	PHANDLE_ h = 0;
	PDWORD_ a = 0;
	DWORD32 r = rc(p_SCardConnect((PHANDLE_)ctx, r8, share, proto_from_win(protos), &h, &a));
	TRACE("Connect(%s) -> %08x\n", r8, r);
	free(r8);
	*card = (uint64_t)h;
	if (active)
		*active = proto_to_win(a);
	return r;
}

WINAPI DWORD32 SCardReconnect(uint64_t card, DWORD32 share, DWORD32 protos, DWORD32 init, DWORD32 *active)
{
	if (!load())
		return E_NO_SERVICE;
	PDWORD_ a = 0;
	DWORD32 r = rc(p_SCardReconnect((PHANDLE_)card, share, proto_from_win(protos), init, &a));
	if (active)
		*active = proto_to_win(a);
	return r;
}

WINAPI DWORD32 SCardDisconnect(uint64_t card, DWORD32 disposition)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardDisconnect((PHANDLE_)card, disposition));
}

WINAPI DWORD32 SCardBeginTransaction(uint64_t card)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardBeginTransaction((PHANDLE_)card));
}

WINAPI DWORD32 SCardEndTransaction(uint64_t card, DWORD32 disposition)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardEndTransaction((PHANDLE_)card, disposition));
}

static DWORD32 state_to_win(PDWORD_ s)
{
	/* pcsclite bits SCARD_UNKNOWN 0x1 ... SCARD_SPECIFIC 0x40 to the
	 * Windows enumeration SCARD_UNKNOWN 0 ... SCARD_SPECIFIC 6: the
	 * highest bit set is the state. */
	DWORD32 w = 0;
	for (int b = 1; b <= 6; b++)
		if (s & (1ul << b))
			w = (DWORD32)b;
	return w;
}

WINAPI DWORD32 SCardStatusW(uint64_t card, WCHAR16 *name, DWORD32 *nameLen, DWORD32 *state, DWORD32 *proto, unsigned char *atr, DWORD32 *atrLen)
{
	if (!load())
		return E_NO_SERVICE;
	if ((nameLen && *nameLen == W_AUTOALLOCATE) || (atrLen && *atrLen == W_AUTOALLOCATE))
		return E_INVALID_PARAMETER;
	char r8[1024];
	unsigned char a[P_MAX_ATR];
	PDWORD_ rn = sizeof r8, st = 0, pr = 0, an = sizeof a;
	DWORD32 r = rc(p_SCardStatus((PHANDLE_)card, r8, &rn, &st, &pr, a, &an));
	if (r != 0)
		return r;
	if (state)
		*state = state_to_win(st);
	if (proto)
		*proto = proto_to_win(pr);
	if (nameLen) {
		/* rn counts the terminating NUL; a multi-string of one name. */
		r = multi_out(r8, rn, name, nameLen);
		if (r != 0)
			return r;
	}
	if (atrLen) {
		if (atr && *atrLen < an) {
			*atrLen = (DWORD32)an;
			return E_INSUFFICIENT_BUFFER;
		}
		if (atr)
			memcpy(atr, a, an);
		*atrLen = (DWORD32)an;
	}
	return S_OK_;
}

WINAPI DWORD32 SCardTransmit(uint64_t card, const WIOREQ *send, const unsigned char *in, DWORD32 inLen, WIOREQ *recv, unsigned char *out, DWORD32 *outLen)
{
	if (!load())
		return E_NO_SERVICE;
	if (!outLen || *outLen == W_AUTOALLOCATE)
		return E_INVALID_PARAMETER;
	PIOREQ ps;
	if (send) {
		ps.dwProtocol = proto_from_win(send->dwProtocol);
	} else {
		/* NULL: the card's active protocol. */
		char r8[1024];
		unsigned char a[P_MAX_ATR];
		PDWORD_ rn = sizeof r8, st = 0, pr = 0, an = sizeof a;
		PLONG_ r = p_SCardStatus((PHANDLE_)card, r8, &rn, &st, &pr, a, &an);
		if (r != 0)
			return rc(r);
		ps.dwProtocol = pr;
		TRACE("Transmit with a NULL send PCI: active protocol %lu\n", pr);
	}
	ps.cbPciLength = sizeof ps;
	PIOREQ pr = {0, sizeof pr};
	PDWORD_ n = *outLen;
	DWORD32 r = rc(p_SCardTransmit((PHANDLE_)card, &ps, in, inLen, recv ? &pr : NULL, out, &n));
	*outLen = (DWORD32)n;
	if (recv) {
		recv->dwProtocol = proto_to_win(pr.dwProtocol);
		recv->cbPciLength = sizeof *recv;
	}
	if (r != 0)
		TRACE("Transmit -> %08x\n", r);
	return r;
}

WINAPI DWORD32 SCardControl(uint64_t card, DWORD32 code, const void *in, DWORD32 inLen, void *out, DWORD32 outSize, DWORD32 *outLen)
{
	if (!load())
		return E_NO_SERVICE;
	PDWORD_ c = code;
	if ((code & 0xFFFF0000u) == 0x00310000u)
		c = 0x42000000ul + ((code >> 2) & 0xFFF);
	PDWORD_ n = 0;
	DWORD32 r = rc(p_SCardControl((PHANDLE_)card, c, in, inLen, out, outSize, &n));
	if (outLen)
		*outLen = (DWORD32)n;
	return r;
}

WINAPI DWORD32 SCardGetAttrib(uint64_t card, DWORD32 id, unsigned char *buf, DWORD32 *len)
{
	if (!load())
		return E_NO_SERVICE;
	if (!len || *len == W_AUTOALLOCATE)
		return E_INVALID_PARAMETER;
	PDWORD_ n = *len;
	DWORD32 r = rc(p_SCardGetAttrib((PHANDLE_)card, id, buf, &n));
	*len = (DWORD32)n;
	return r;
}

WINAPI DWORD32 SCardSetAttrib(uint64_t card, DWORD32 id, const unsigned char *buf, DWORD32 len)
{
	if (!load())
		return E_NO_SERVICE;
	return rc(p_SCardSetAttrib((PHANDLE_)card, id, buf, len));
}

WINAPI DWORD32 SCardFreeMemory(uint64_t ctx, const void *mem)
{
	/* Nothing is ever auto-allocated here. */
	(void)ctx;
	(void)mem;
	return S_OK_;
}
