// Batched products Y[n x rows] (+)= X[n x cols] . W^T over the GPU weight layout (see loracle_common.cuh), for
// 1..any tokens. One block per output row (32..MM_THREADS threads, chosen by the host from the row length alone):
// the threads stride over the row in 16-byte chunks (several warps per row, so even 256-row matrices fill the SMs), tokens go in tiles of MM_TILE against the same weights
// (DRAM reads each weight once per step; later tiles hit L1/L2).
// Batch invariance: a token's dot product is reduced in the same order whatever n is: thread t always takes the
// chunks t, t + blockDim, ..., the warps and the block reduce in a fixed tree; no split-K, no atomics.
#include "loracle_common.cuh"


// FMT: 0 = Q8_0 packed, 1 = Q4_0 packed, 2 = F32, 3 = F16 (plain row-major).
template <int FMT>
__device__ __forceinline__ void row_tile(const uint8_t* w, const __half* scales, int cols, int row, const float* x, int t0, int nt,
                                         float* acc) {
    if (FMT == 0) {
        const uint8_t* qs = w + (size_t)row * cols;
        const __half* sc = scales + (size_t)row * (cols / QK);
        for (int c = threadIdx.x; c < cols / PACK_CHUNK; c += blockDim.x) {
            const int4 q = reinterpret_cast<const int4*>(qs)[c];
            const float d = __half2float(sc[c >> 1]);
            #pragma unroll
            for (int b = 0; b < MM_TILE; b++) if (b < nt) acc[b] += d * dot_q8_16(q, x + (size_t)(t0 + b) * cols + c * 16);
        }
    } else if (FMT == 1) {
        const uint8_t* qs = w + (size_t)row * (cols / 2);
        const __half* sc = scales + (size_t)row * (cols / QK);
        for (int c = threadIdx.x; c < cols / QK; c += blockDim.x) {
            const int4 q = reinterpret_cast<const int4*>(qs)[c];
            const float d = __half2float(sc[c]);
            #pragma unroll
            for (int b = 0; b < MM_TILE; b++) if (b < nt) acc[b] += d * dot_q4_32(q, x + (size_t)(t0 + b) * cols + c * 32);
        }
    } else if (FMT == 2) {
        const float* wr = reinterpret_cast<const float*>(w) + (size_t)row * cols;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            const float wv = wr[i];
            #pragma unroll
            for (int b = 0; b < MM_TILE; b++) if (b < nt) acc[b] += wv * x[(size_t)(t0 + b) * cols + i];
        }
    } else {
        const __half* wr = reinterpret_cast<const __half*>(w) + (size_t)row * cols;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            const float wv = __half2float(wr[i]);
            #pragma unroll
            for (int b = 0; b < MM_TILE; b++) if (b < nt) acc[b] += wv * x[(size_t)(t0 + b) * cols + i];
        }
    }
}

template <int FMT>
__device__ __forceinline__ void mm_body(const uint8_t* w, const __half* sc, const float* x, float* y, int cols, int n,
                                        int yStride, int accumulate) {
    __shared__ float red[MM_TILE][MM_THREADS / WARP];
    const int row = blockIdx.x;
    for (int t0 = 0; t0 < n; t0 += MM_TILE) {
        const int nt = min(MM_TILE, n - t0);
        float acc[MM_TILE];
        #pragma unroll
        for (int b = 0; b < MM_TILE; b++) acc[b] = 0.0f;
        row_tile<FMT>(w, sc, cols, row, x, t0, nt, acc);
        tile_reduce(acc, nt, red);
        if (threadIdx.x < nt) {
            float* dst = y + (size_t)(t0 + threadIdx.x) * yStride + row;
            *dst = accumulate ? *dst + acc[0] : acc[0];
        }
        __syncthreads();
    }
}

// Gate and up in one matrix [2*hidden x cols] (gate rows first); h[n x hidden] = silu(gate x) * (up x).
template <int FMT>
__device__ __forceinline__ void mm_swiglu_body(const uint8_t* w, const __half* sc, const float* x, float* h, int hidden, int cols, int n) {
    __shared__ float red[MM_TILE][MM_THREADS / WARP];
    const int row = blockIdx.x;
    for (int t0 = 0; t0 < n; t0 += MM_TILE) {
        const int nt = min(MM_TILE, n - t0);
        float g[MM_TILE], u[MM_TILE];
        #pragma unroll
        for (int b = 0; b < MM_TILE; b++) { g[b] = 0.0f; u[b] = 0.0f; }
        row_tile<FMT>(w, sc, cols, row, x, t0, nt, g);
        row_tile<FMT>(w, sc, cols, hidden + row, x, t0, nt, u);
        tile_reduce(g, nt, red);
        __syncthreads();
        const float gs = g[0];
        tile_reduce(u, nt, red);
        if (threadIdx.x < nt) h[(size_t)(t0 + threadIdx.x) * hidden + row] = gs / (1.0f + expf(-gs)) * u[0];
        __syncthreads();
    }
}

// x[t][i] = row tokens[t] of the embedding, decoded to F32 (exactly the GGUF dequantization).
template <int FMT>
__device__ __forceinline__ void embed_body(const uint8_t* w, const __half* sc, const int* tokens, float* x, int cols) {
    const int t = blockIdx.x, row = tokens[t];
    float* out = x + (size_t)t * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float v;
        if (FMT == 0) {
            v = __half2float(sc[(size_t)row * (cols / QK) + i / QK]) * (float)(int8_t)w[(size_t)row * cols + i];
        } else if (FMT == 1) {
            const int j = i % QK;
            const uint8_t byte = w[(size_t)row * (cols / 2) + (i / QK) * 16 + (j & 15)];
            const int q = j < 16 ? (byte & 0x0F) : (byte >> 4);
            v = __half2float(sc[(size_t)row * (cols / QK) + i / QK]) * (float)(q - 8);
        } else if (FMT == 2) {
            v = reinterpret_cast<const float*>(w)[(size_t)row * cols + i];
        } else {
            v = __half2float(reinterpret_cast<const __half*>(w)[(size_t)row * cols + i]);
        }
        out[i] = v;
    }
}

extern "C" {

// Packed weights: w = quants of row 0, sc = scales of row 0 (so a slice of rows is a plain offset of both); F32/F16
// ignore sc. grid = rows, block = 32..MM_THREADS (a multiple of 32). y[t * yStride + r] (+)= W[r] . x[t * cols ..] for t < n.
#define MM_ENTRY(name, fmt) \
    __global__ void name(const uint8_t* w, const __half* sc, const float* x, float* y, int cols, int n, int yStride, \
                         int accumulate) { mm_body<fmt>(w, sc, x, y, cols, n, yStride, accumulate); }
MM_ENTRY(mm_q8_0p, 0)
MM_ENTRY(mm_q4_0p, 1)
MM_ENTRY(mm_f32, 2)
MM_ENTRY(mm_f16, 3)

// Gate rows [0, hidden) and up rows [hidden, 2 hidden) of one matrix; grid = hidden, block as mm.
#define MM_SWIGLU_ENTRY(name, fmt) \
    __global__ void name(const uint8_t* w, const __half* sc, const float* x, float* h, int hidden, int cols, int n) { \
        mm_swiglu_body<fmt>(w, sc, x, h, hidden, cols, n); }
MM_SWIGLU_ENTRY(mm_swiglu_q8_0p, 0)
MM_SWIGLU_ENTRY(mm_swiglu_q4_0p, 1)
MM_SWIGLU_ENTRY(mm_swiglu_f32, 2)
MM_SWIGLU_ENTRY(mm_swiglu_f16, 3)

// grid = n tokens, block = 256.
#define EMBED_ENTRY(name, fmt) \
    __global__ void name(const uint8_t* w, const __half* sc, const int* tokens, float* x, int cols) { \
        embed_body<fmt>(w, sc, tokens, x, cols); }
EMBED_ENTRY(embed_q8_0p, 0)
EMBED_ENTRY(embed_q4_0p, 1)
EMBED_ENTRY(embed_f32, 2)
EMBED_ENTRY(embed_f16, 3)

}  // extern "C"
