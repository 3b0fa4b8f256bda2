// Stand-in for the toolkit header in the host emulation build (see cuda_emu.h).
#pragma once
#include "cuda_emu.h"
