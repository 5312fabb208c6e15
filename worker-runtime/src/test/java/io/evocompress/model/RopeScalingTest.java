package io.evocompress.model;

import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rotary frequency scaling (Llama 3.1's llama3 scheme and linear) against closed-form values. */
class RopeScalingTest {
    // Llama 3.1 (8B/70B/405B): rope_theta 500000, head_dim 128, and its rope_scaling block.
    private static final double THETA = 500_000;
    private static final int HEAD_DIM = 128;
    private static final RopeScaling LLAMA31 = new RopeScaling("llama3", 8.0, 1.0, 4.0, 8192);

    private static double[] invFreq() {
        double[] inv = new double[HEAD_DIM / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(THETA, -2.0 * i / HEAD_DIM);
        }
        return inv;
    }

    @Test
    void llama3KeepsHighFrequenciesAndDividesLowOnesByTheFactor() {
        double[] inv = invFreq();
        double[] out = LLAMA31.apply(inv);
        assertEquals(64, out.length);
        // i = 0: inverse frequency 1, wavelength 2*pi, far below 8192/4 = 2048 positions: unchanged.
        assertEquals(1.0, out[0]);
        // i = 28: wavelength 2*pi*500000^(56/128) = 1956.5 < 2048: still unchanged.
        assertEquals(1956.497, 2 * Math.PI / inv[28], 1e-3);
        assertEquals(inv[28], out[28]);
        // i = 35: wavelength 8218.7 > 8192 / 1: divided by 8.
        assertEquals(8218.718, 2 * Math.PI / inv[35], 1e-3);
        assertEquals(inv[35] / 8, out[35], 1e-18);
        // i = 63, the longest wavelength (~3.1M positions): divided by 8.
        assertEquals(Math.pow(THETA, -126.0 / 128) / 8, out[63], 1e-20);
        assertEquals(inv[63] / 8, out[63]);
        // Bands: 29 kept (i <= 28), 6 smoothed (29..34), 29 divided (i >= 35).
        for (int i = 0; i <= 28; i++) {
            assertEquals(inv[i], out[i], "i=" + i);
        }
        for (int i = 35; i < 64; i++) {
            assertEquals(inv[i] / 8, out[i], inv[i] * 1e-15, "i=" + i);
        }
        for (int i = 29; i <= 34; i++) {
            assertTrue(out[i] < inv[i] && out[i] > inv[i] / 8, "i=" + i + " is in the smooth band");
        }
    }

    @Test
    void llama3SmoothBandInterpolatesBetweenScaledAndUnscaled() {
        // i = 32: inverse frequency 500000^(-1/2), wavelength 2*pi*sqrt(500000) = 4442.88, between 2048 and 8192.
        double inv = 1 / Math.sqrt(THETA);
        double wavelength = 2 * Math.PI * Math.sqrt(THETA);
        assertEquals(4442.88, wavelength, 0.01);
        // smooth = (original / wavelength - low) / (high - low) = (8192 / 4442.883 - 1) / 3 = 0.281283
        double smooth = (8192 / wavelength - 1.0) / (4.0 - 1.0);
        assertEquals(0.281283, smooth, 1e-6);
        double expected = (1 - smooth) * inv / 8 + smooth * inv; // = inv * 0.371122
        assertEquals(inv * 0.371122, expected, inv * 1e-6);

        double[] out = LLAMA31.apply(invFreq());
        assertEquals(expected, out[32], expected * 1e-14);
    }

    @Test
    void smoothBandMeetsBothNeighbouringBandsAtItsEdges() {
        // At wavelength exactly 8192 (low edge) smooth = 0: the band starts at inv / factor;
        // at exactly 2048 (high edge) smooth = 1: it ends at inv unchanged.
        double atLow = 2 * Math.PI / 8192;
        double atHigh = 2 * Math.PI / 2048;
        double[] out = LLAMA31.apply(new double[] {atHigh, atLow, Math.nextDown(atLow)});
        assertEquals(atHigh, out[0], atHigh * 1e-14);
        assertEquals(atLow / 8, out[1], atLow * 1e-14);
        assertEquals(Math.nextDown(atLow) / 8, out[2], atLow * 1e-14);
    }

    @Test
    void linearDividesEveryFrequency() {
        double[] inv = invFreq();
        double[] out = new RopeScaling("linear", 4.0, 1.0, 4.0, 8192).apply(inv);
        for (int i = 0; i < inv.length; i++) {
            assertEquals(inv[i] / 4, out[i], "i=" + i);
        }
        assertEquals(Math.pow(THETA, -2.0 / 128), inv[1], 0, "apply does not modify its input");
    }

    @Test
    void unsupportedOrInconsistentScalingIsRejected() {
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> new RopeScaling("yarn", 4.0, 1.0, 4.0, 8192));
        assertEquals("rope_scaling type 'yarn' is not supported; supported: llama3, linear, longrope.", e.getMessage());
        e = assertThrows(EvocompressException.class, () -> new RopeScaling("linear", 0, 1.0, 4.0, 8192));
        assertTrue(e.getMessage().contains("factor must be positive, but was 0.0"), e.getMessage());
        e = assertThrows(EvocompressException.class, () -> new RopeScaling("llama3", 8, 4.0, 4.0, 8192));
        assertTrue(e.getMessage().contains("high_freq_factor > low_freq_factor"), e.getMessage());
    }

    @Test
    void llama31ConfigParsesToTheScaling() {
        String config = """
            {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
             "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
             "max_position_embeddings": 131072, "rope_theta": 500000.0,
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""";
        ModelConfig c = ArchitectureRegistry.parseConfig(config, "llama31/config.json");
        assertEquals(LLAMA31, c.ropeScaling());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(128, c.headDim());

        ModelConfig plain = ArchitectureRegistry.parseConfig(
            config.replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"default\""), "x/config.json");
        assertNull(plain.ropeScaling(), "rope_type default means no scaling");
    }
}
