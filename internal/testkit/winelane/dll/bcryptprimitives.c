/*
 * bcryptprimitives.dll for the Windows lane under Wine (test only, never
 * shipped). Go >= 1.22 takes its random numbers from ProcessPrng in this
 * DLL and aborts at start without it; Wine 8.0 has no such DLL.
 *
 * ProcessPrng(PBYTE, SIZE_T) -> BOOL, documented as always TRUE. Filled
 * from advapi32's RtlGenRandom (exported as SystemFunction036), which Wine
 * has. Built with mingw-w64 by scripts/wine-lane.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
