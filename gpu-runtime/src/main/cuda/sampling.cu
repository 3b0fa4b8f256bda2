// On-device sampling support: greedy argmax (lowest index wins ties, like a sequential scan) so that
// greedy decoding copies back 4 bytes per token instead of the logits. Top-p sampling copies the
// logits to the host and uses the engine's shared seeded sampler, so sampled streams match the CPU.
#include "loracle_common.cuh"

// Greedy argmax of each row of x [rows x n] (grid = rows, block = 1024), lowest index wins ties, like a sequential scan.
extern "C" __global__ void argmax_rows(const float* x, int n, int* result) {
    __shared__ float bestV[1024];
    __shared__ int bestI[1024];
    const float* xr = x + (size_t)blockIdx.x * n;
    float v = -INFINITY;
    int idx = n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        if (xr[i] > v || idx == n) { v = xr[i]; idx = i; }
    }
    bestV[threadIdx.x] = v;
    bestI[threadIdx.x] = idx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            const float ov = bestV[threadIdx.x + s];
            const int oi = bestI[threadIdx.x + s];
            if (ov > bestV[threadIdx.x] || (ov == bestV[threadIdx.x] && oi < bestI[threadIdx.x])) {
                bestV[threadIdx.x] = ov;
                bestI[threadIdx.x] = oi;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) result[blockIdx.x] = bestI[0];
}
