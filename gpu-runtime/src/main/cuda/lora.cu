// LoRA adapter kernels. A is [rank x in], B is [out x rank], dense F32 row-major, model orientation.
// MERGED: a dequantized working copy W[out x in] gets W += coef * B A per adapter (coef = w_i * s_i),
//         then quant.cu requantizes it to the base format. The sum of the k deltas is exact up to fp32.
// UNMERGED: t = A x with matvec_f32 (rows = rank), then y += coef * B t here.
#include "loracle_common.cuh"

#define TILE 16

extern "C" {

// W[out x in] += coef * B[out x rank] . A[rank x in]; 16x16 tiles through shared memory.
__global__ void lora_merge_add(float* w, const float* b, const float* a, int out, int in, int rank, float coef) {
    __shared__ float bt[TILE][TILE];
    __shared__ float at[TILE][TILE + 1];
    const int row = blockIdx.y * TILE + threadIdx.y;
    const int col = blockIdx.x * TILE + threadIdx.x;
    float acc = 0.0f;
    for (int r0 = 0; r0 < rank; r0 += TILE) {
        const int br = r0 + threadIdx.x, ar = r0 + threadIdx.y;
        bt[threadIdx.y][threadIdx.x] = (row < out && br < rank) ? b[(size_t)row * rank + br] : 0.0f;
        at[threadIdx.y][threadIdx.x] = (ar < rank && col < in) ? a[(size_t)ar * in + col] : 0.0f;
        __syncthreads();
        #pragma unroll
        for (int r = 0; r < TILE; r++) acc += bt[threadIdx.y][r] * at[r][threadIdx.x];
        __syncthreads();
    }
    if (row < out && col < in) w[(size_t)row * in + col] += coef * acc;
}

// y[out] += coef * B[out x rank] . t[rank]; one thread per output row (rank is small).
__global__ void lora_up_add(float* y, const float* b, const float* t, int out, int rank, float coef) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= out) return;
    const float* br = b + (size_t)row * rank;
    float acc = 0.0f;
    for (int r = 0; r < rank; r++) acc += br[r] * t[r];
    y[row] += coef * acc;
}

}  // extern "C"
