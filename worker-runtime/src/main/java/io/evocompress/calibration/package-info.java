/**
 * Calibration statistics (ALGORITHMS.md section 1): the dense model runs block by block over the
 * calibration sequences ({@link io.evocompress.calibration.DenseCalibration}), each block fed the dense
 * activations of the one before, and every distinct linear-layer input (q/k/v, o, gate/up, down) gets a
 * running-form Hessian H = (2/n) sum X^T X, n in sequences, and Wanda's input norms, in float64
 * ({@link io.evocompress.calibration.HessianAccumulator}). Dampening and dead inputs are applied by the
 * compressors, so the statistics stay as measured.
 */
package io.evocompress.calibration;
