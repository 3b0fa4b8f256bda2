// Rotary position embedding with llama2.c's pairing: adjacent elements (2i, 2i+1) of each head rotate
// by pos * theta^(-(2i mod headSize)/headSize). The llama2.c-converted GGUFs keep this row order.
#include "loracle_common.cuh"

// q: [dim], k: [kvDim]; one thread per pair.
extern "C" __global__ void rope_f32(float* q, float* k, int pos, int dim, int kvDim, int headSize, float theta) {
    const int i = 2 * (blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= dim) return;
    const int headDim = i % headSize;
    // Double-precision pow/cos/sin rounded to float, as the CPU backend's table does (bit-equal angles).
    const float freq = 1.0f / (float)pow((double)theta, (double)((float)headDim / (float)headSize));
    const float val = (float)pos * freq;
    const float fcr = (float)cos((double)val), fci = (float)sin((double)val);
    const int rotn = i < kvDim ? 2 : 1;
    for (int v = 0; v < rotn; v++) {
        float* vec = v == 0 ? q : k;
        const float v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
    }
}
