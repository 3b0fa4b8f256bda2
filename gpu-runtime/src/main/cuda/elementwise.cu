// Element-wise steps of the forward pass: SwiGLU gate and the residual add.
#include "loracle_common.cuh"

extern "C" {

// hb = silu(hb) * hb2, silu(x) = x / (1 + e^-x)
__global__ void swiglu_f32(float* hb, const float* hb2, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = hb[i];
    hb[i] = g / (1.0f + expf(-g)) * hb2[i];
}

// x += y
__global__ void add_f32(float* x, const float* y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

}  // extern "C"
