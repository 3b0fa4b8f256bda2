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

// One thread per 32-element block (quantizers shared with the fused merge: loracle_common.cuh).
__global__ void quantize_q8_0(const float* src, uint8_t* dst, long long nBlocks) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nBlocks) return;
    uint8_t* out = dst + b * Q8_0_BYTES;
    const float d = quant_q8_0_block(src + b * QK, reinterpret_cast<int8_t*>(out + 2));
    *reinterpret_cast<__half*>(out) = __float2half_rn(d);
}

// llama.cpp keeps the signed value of largest magnitude and uses d = max / -8, so that value maps to 0.
__global__ void quantize_q4_0(const float* src, uint8_t* dst, long long nBlocks) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nBlocks) return;
    uint8_t* out = dst + b * Q4_0_BYTES;
    const float d = quant_q4_0_block(src + b * QK, out + 2);
    *reinterpret_cast<__half*>(out) = __float2half_rn(d);
}

}  // extern "C"
