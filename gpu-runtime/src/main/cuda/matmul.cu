// Matrix-vector and small-batch matrix products y[n x rows] (+)= X[n x cols] . W[rows x cols]^T
// for F32, F16, Q8_0 and Q4_0 weights. One warp per output row; weights are dequantized in registers
// and read once for all n activation rows (n <= MAX_BATCH), which is what makes batching pay off.
#include "loracle_common.cuh"

#define MAX_BATCH 8

// Partial dot products of one weight row against n activation rows; each lane covers a strided slice.
template <int B>
__device__ __forceinline__ void row_f32(const float* w, const float* x, int cols, int n, int lane, float* acc) {
    for (int i = lane; i < cols; i += WARP) {
        const float wv = w[i];
        #pragma unroll
        for (int b = 0; b < B; b++) if (b < n) acc[b] += wv * x[(size_t)b * cols + i];
    }
}

template <int B>
__device__ __forceinline__ void row_f16(const __half* w, const float* x, int cols, int n, int lane, float* acc) {
    for (int i = lane; i < cols; i += WARP) {
        const float wv = __half2float(w[i]);
        #pragma unroll
        for (int b = 0; b < B; b++) if (b < n) acc[b] += wv * x[(size_t)b * cols + i];
    }
}

// Q8_0: 8 lanes per block, 4 quants per lane, so one warp pass covers 4 blocks (128 elements).
template <int B>
__device__ __forceinline__ void row_q8_0(const uint8_t* w, const float* x, int cols, int n, int lane, float* acc) {
    const int nb = cols / QK, sub = lane % 8;
    for (int blk = lane / 8; blk < nb; blk += 4) {
        const uint8_t* p = w + (size_t)blk * Q8_0_BYTES;
        const float d = load_half(p);
        const int8_t* qs = reinterpret_cast<const int8_t*>(p + 2) + sub * 4;
        const int e = blk * QK + sub * 4;
        float q[4];
        #pragma unroll
        for (int j = 0; j < 4; j++) q[j] = d * (float)qs[j];
        #pragma unroll
        for (int b = 0; b < B; b++) if (b < n) {
            const float* xb = x + (size_t)b * cols + e;
            acc[b] += q[0] * xb[0] + q[1] * xb[1] + q[2] * xb[2] + q[3] * xb[3];
        }
    }
}

// Q4_0: 16 lanes per block; byte j holds element j (low nibble) and element j+16 (high nibble), minus 8.
template <int B>
__device__ __forceinline__ void row_q4_0(const uint8_t* w, const float* x, int cols, int n, int lane, float* acc) {
    const int nb = cols / QK, j = lane % 16;
    for (int blk = lane / 16; blk < nb; blk += 2) {
        const uint8_t* p = w + (size_t)blk * Q4_0_BYTES;
        const float d = load_half(p);
        const uint8_t byte = p[2 + j];
        const float lo = d * (float)((int)(byte & 0x0F) - 8);
        const float hi = d * (float)((int)(byte >> 4) - 8);
        const int e = blk * QK + j;
        #pragma unroll
        for (int b = 0; b < B; b++) if (b < n) {
            const float* xb = x + (size_t)b * cols + e;
            acc[b] += lo * xb[0] + hi * xb[16];
        }
    }
}

template <int B>
__device__ __forceinline__ void finish_row(float* acc, int n, float* y, int rows, int row, int accumulate, int lane) {
    #pragma unroll
    for (int b = 0; b < B; b++) {
        if (b < n) {
            const float s = warp_sum(acc[b]);
            if (lane == 0) {
                float* dst = y + (size_t)b * rows + row;
                *dst = accumulate ? *dst + s : s;
            }
        }
    }
}

// Row index of this warp; blockDim = (32, warpsPerBlock).
#define WARP_ROW (blockIdx.x * blockDim.y + threadIdx.y)

extern "C" {

// y[rows] (+)= W[rows x cols] x[cols]
__global__ void matvec_f32(const float* w, const float* x, float* y, int rows, int cols, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[1] = {0.0f};
    row_f32<1>(w + (size_t)row * cols, x, cols, 1, threadIdx.x, acc);
    finish_row<1>(acc, 1, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matvec_f16(const __half* w, const float* x, float* y, int rows, int cols, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[1] = {0.0f};
    row_f16<1>(w + (size_t)row * cols, x, cols, 1, threadIdx.x, acc);
    finish_row<1>(acc, 1, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matvec_q8_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[1] = {0.0f};
    row_q8_0<1>(w + (size_t)row * (cols / QK) * Q8_0_BYTES, x, cols, 1, threadIdx.x, acc);
    finish_row<1>(acc, 1, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matvec_q4_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[1] = {0.0f};
    row_q4_0<1>(w + (size_t)row * (cols / QK) * Q4_0_BYTES, x, cols, 1, threadIdx.x, acc);
    finish_row<1>(acc, 1, y, rows, row, accumulate, threadIdx.x);
}

// Y[n x rows] (+)= X[n x cols] W^T, 1 <= n <= MAX_BATCH (the host splits larger batches).
__global__ void matmul_f32(const float* w, const float* x, float* y, int rows, int cols, int n, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[MAX_BATCH] = {0};
    row_f32<MAX_BATCH>(w + (size_t)row * cols, x, cols, n, threadIdx.x, acc);
    finish_row<MAX_BATCH>(acc, n, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matmul_f16(const __half* w, const float* x, float* y, int rows, int cols, int n, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[MAX_BATCH] = {0};
    row_f16<MAX_BATCH>(w + (size_t)row * cols, x, cols, n, threadIdx.x, acc);
    finish_row<MAX_BATCH>(acc, n, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matmul_q8_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[MAX_BATCH] = {0};
    row_q8_0<MAX_BATCH>(w + (size_t)row * (cols / QK) * Q8_0_BYTES, x, cols, n, threadIdx.x, acc);
    finish_row<MAX_BATCH>(acc, n, y, rows, row, accumulate, threadIdx.x);
}

__global__ void matmul_q4_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n, int accumulate) {
    const int row = WARP_ROW; if (row >= rows) return;
    float acc[MAX_BATCH] = {0};
    row_q4_0<MAX_BATCH>(w + (size_t)row * (cols / QK) * Q4_0_BYTES, x, cols, n, threadIdx.x, acc);
    finish_row<MAX_BATCH>(acc, n, y, rows, row, accumulate, threadIdx.x);
}

}  // extern "C"
