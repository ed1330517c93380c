/* One pass over a float32 array: shifted sum, shifted sum of squares, min and max.
 *
 * torch needs three reductions for these (sum, dot, aminmax), each reading the whole
 * tensor, and a stats-mode trace runs them on every site inside the forward pass. Sixteen
 * independent float lanes let the compiler vectorise the loop without reassociating
 * anything. Each lane's partial sums move into double accumulators every BLOCK elements,
 * so the float rounding error comes from at most BLOCK / LANES = 64 additions per partial
 * sum, whatever the tensor's size.
 *
 * The sums are of x - shift, where shift is the mean of the first SHIFT_SPAN elements (a
 * short extra pass over data that is then in cache). With a shift near the mean, the
 * variance sum((x - shift)^2)/n - (sum(x - shift)/n)^2 loses few digits to cancellation even
 * when the mean is much larger than the spread, as it is for a row of RMS values. The
 * caller checks how far the shift was from the mean and recomputes in float64 when needed.
 *
 * NaN and Inf are not counted here: a NaN or Inf element makes the sum non-finite, and
 * the caller then takes its slower exact path. Comparisons skip NaN, so min and max stay
 * those of the other elements. target_clones builds AVX-512, AVX2 and baseline versions and
 * picks one when the library loads, so the file runs on any x86-64 machine.
 */
#include <float.h>
#include <stdint.h>

#define LANES 16
#define BLOCK 1024
#define SHIFT_SPAN 1024

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void mmtrace_stats_f32(const float *x, int64_t n, double *out)
{
    /* Any value near the mean serves as the shift, so float lanes, which vectorise, suffice. */
    int64_t span = n < SHIFT_SPAN ? n : SHIFT_SPAN;
    float lead[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= span; k += LANES)
        for (int j = 0; j < LANES; j++)
            lead[j] += x[k + j];
    double first = 0.0;
    for (int j = 0; j < LANES; j++)
        first += lead[j];
    for (; k < span; k++)
        first += x[k];
    const float shift = span ? (float)(first / span) : 0.0f;

    double total = 0.0, squares = 0.0;
    float low[LANES], high[LANES];
    for (int j = 0; j < LANES; j++) {
        low[j] = FLT_MAX;
        high[j] = -FLT_MAX;
    }

    int64_t i = 0;
    while (i + LANES <= n) {
        int64_t end = i + BLOCK < n ? i + BLOCK : n;
        float sum[LANES] = {0}, square[LANES] = {0};
        for (; i + LANES <= end; i += LANES) {
            for (int j = 0; j < LANES; j++) {
                float v = x[i + j], d = v - shift;
                sum[j] += d;
                square[j] += d * d;
                low[j] = v < low[j] ? v : low[j];
                high[j] = v > high[j] ? v : high[j];
            }
        }
        for (int j = 0; j < LANES; j++) {
            total += sum[j];
            squares += square[j];
        }
    }

    float lo = low[0], hi = high[0];
    for (int j = 1; j < LANES; j++) {
        lo = low[j] < lo ? low[j] : lo;
        hi = high[j] > hi ? high[j] : hi;
    }
    for (; i < n; i++) {
        float v = x[i];
        double d = (double)v - shift;
        total += d;
        squares += d * d;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    out[0] = shift;
    out[1] = total;
    out[2] = squares;
    out[3] = lo;
    out[4] = hi;
}
