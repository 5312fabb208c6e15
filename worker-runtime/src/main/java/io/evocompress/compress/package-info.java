/**
 * Per-layer compressors (ALGORITHMS.md section 2): {@link io.evocompress.compress.SparseGpt},
 * {@link io.evocompress.compress.Gptq} (and both jointly), and the baselines
 * {@link io.evocompress.compress.MagnitudePruning}, {@link io.evocompress.compress.Wanda} and
 * {@link io.evocompress.compress.RoundToNearest}. Each takes a weight [out, in] and, where it needs
 * one, the Hessian of the layer's input from {@link io.evocompress.calibration}, and returns a
 * {@link io.evocompress.compress.CompressedLayer}.
 *
 * <p>Choices where the specification or the reference code leaves room:
 * <ul>
 *   <li>Mask sizes are exact: round(fraction * count) weights per SparseGPT block (rows x up to 128
 *       columns), per Wanda row, per magnitude layer; ties at the threshold go to the lower index.
 *       (The reference SparseGPT masks every score {@code <=} the value at index int(count * fraction).)</li>
 *   <li>N:M needs the layer's input features to be a multiple of M and fails otherwise.</li>
 *   <li>Quantization grids: a per-channel grid is fitted once on the whole weight before the sweep; a
 *       group's grid is fitted when the sweep reaches the group's first column, on the updated weights
 *       (the reference's default, non-static groups). The group size must divide the block size, so a
 *       group never straddles a lazy batch update. With act-order, groups are consecutive columns in
 *       processing order, recorded per column in {@link io.evocompress.compress.QuantizedWeight#groupIndex()}.</li>
 *   <li>Symmetric grids span [-max|w|, max|w|] even when a row has no negative weight (the reference
 *       then keeps xmin = 0).</li>
 *   <li>Joint sparsity + quantization masks first, then quantizes; the grids contain 0, so a pruned
 *       weight stays exactly 0 (a kept weight may also round to 0).</li>
 *   <li>Precision and where the work runs: the inverse-Hessian factor U ({@link io.evocompress.compress.InverseFactor})
 *       is one recursive Cholesky + triangular inverse whose O(n^3) products are float32 engine matmuls
 *       on the weight's device (DJL 0.32 has no Cholesky kernel); its Java blocks (at most 256 columns)
 *       and U's diagonal, which sets the error estimate, are float64. Layers of at most 256 inputs are
 *       factored wholly in Java float64, as before. float32 suffices: on every layer of both Llama
 *       fixtures the layer errors of SparseGPT 50%/70%, GPTQ 3/4-bit and joint 50% + 4-bit stay within
 *       0.2% of the float64 factor's (EngineFactorQualityTest; the bound asserted is 1%). The
 *       per-column work inside a block of B columns is Java double (O(rows B) per column); the lazy
 *       batch updates (O(rows n^2) in all) are float32 engine matmuls, in place, gathered over spans
 *       of 1024 columns, as in the reference's float32.</li>
 * </ul>
 */
package io.evocompress.compress;
