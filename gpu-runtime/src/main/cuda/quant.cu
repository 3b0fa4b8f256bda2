// Conversions between F32 and the weight formats: dequantize (embedding rows, merge working copies)
// and requantize with llama.cpp's reference rounding (quantize_row_q8_0_ref / quantize_row_q4_0_ref),
// so a merged working copy has exactly the bytes the CPU backend would produce from the same floats.
#include "loracle_common.cuh"

extern "C" {

// dst[n] = src[n] for F32 sources (keeps one launcher shape for every type).
__global__ void dequantize_f32(const float* src, float* dst, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[i];
}

__global__ void dequantize_f16(const __half* src, float* dst, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __half2float(src[i]);
}

// n is a multiple of 32; one thread per element.
__global__ void dequantize_q8_0(const uint8_t* src, float* dst, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const uint8_t* blk = src + (i / QK) * Q8_0_BYTES;
    dst[i] = load_half(blk) * (float)reinterpret_cast<const int8_t*>(blk + 2)[i % QK];
}

__global__ void dequantize_q4_0(const uint8_t* src, float* dst, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const uint8_t* blk = src + (i / QK) * Q4_0_BYTES;
    const int j = (int)(i % QK);
    const uint8_t byte = blk[2 + (j & 15)];
    const int q = j < 16 ? (byte & 0x0F) : (byte >> 4);
    dst[i] = load_half(blk) * (float)(q - 8);
}

__global__ void quantize_f16(const float* src, __half* dst, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __float2half_rn(src[i]);
}

// One thread per 32-element block.
__global__ void quantize_q8_0(const float* src, uint8_t* dst, long long nBlocks) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nBlocks) return;
    const float* x = src + b * QK;
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* out = dst + b * Q8_0_BYTES;
    *reinterpret_cast<__half*>(out) = __float2half_rn(d);
    int8_t* qs = reinterpret_cast<int8_t*>(out + 2);
    for (int j = 0; j < QK; j++) qs[j] = (int8_t)roundf(x[j] * id);
}

// llama.cpp keeps the signed value of largest magnitude and uses d = max / -8, so that value maps to 0.
__global__ void quantize_q4_0(const float* src, uint8_t* dst, long long nBlocks) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nBlocks) return;
    const float* x = src + b * QK;
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < QK; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) { amax = fabsf(v); mx = v; }
    }
    const float d = mx / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* out = dst + b * Q4_0_BYTES;
    *reinterpret_cast<__half*>(out) = __float2half_rn(d);
    for (int j = 0; j < QK / 2; j++) {
        // __fmul_rn/__fadd_rn keep nvcc from fusing into an fma, which would round differently from llama.cpp.
        const int xi0 = min(15, (int)(int8_t)__fadd_rn(__fmul_rn(x[j], id), 8.5f));
        const int xi1 = min(15, (int)(int8_t)__fadd_rn(__fmul_rn(x[j + QK / 2], id), 8.5f));
        out[2 + j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

}  // extern "C"
