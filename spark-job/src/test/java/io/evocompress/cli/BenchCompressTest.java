package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.evocompress.cli.MainTest.Run;
import org.junit.jupiter.api.Test;

import static io.evocompress.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench compress} at a small size: its byte counts against the variant format's closed forms. */
class BenchCompressTest {

    @Test
    void reportsTimingsAndTheVariantFormatsExactSizes() throws Exception {
        Run r = run("bench", "compress", "--hidden", "128", "--intermediate", "256", "--iters", "1", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode layers = r.json().get("layers");
        assertEquals(2, layers.size());
        for (JsonNode layer : layers) {
            long rows = layer.get("rows").asLong();
            long cols = layer.get("cols").asLong();
            long n = rows * cols;
            long groups = rows * (cols / 128);
            assertEquals(2 * n, layer.get("dense_fp16_bytes").asLong());
            assertTrue(layer.get("cholesky_seconds").asDouble() > 0 && layer.get("matmul_seconds").asDouble() > 0);
            JsonNode m = layer.get("methods");
            assertEquals(4, m.size());
            // header 14 + value bytes 1 + non-zeros 8 + bitmask n/8 + fp16 non-zeros + crc 4; SparseGPT zeroes
            // exactly round(fraction * rows * 128) weights of every 128-column block
            long blocks = cols / 128;
            long nnz50 = n - blocks * Math.round(0.5 * rows * 128);
            long nnz70 = n - blocks * Math.round(0.7 * rows * 128);
            assertEquals(27 + n / 8 + 2 * nnz50, m.get(0).get("bytes").asLong(), layer.toString());
            assertEquals(27 + n / 8 + 2 * nnz70, m.get(1).get("bytes").asLong(), layer.toString());
            // header 14 + bits 1 + group size 4 + has-mask 1 + packed codes + fp16 scales + packed zeros + crc 4
            for (int i = 0; i < 2; i++) {
                int bits = i == 0 ? 3 : 4;
                long expected = 24 + (n * bits + 7) / 8 + 2 * groups + (groups * bits + 7) / 8;
                assertEquals(expected, m.get(2 + i).get("bytes").asLong(), layer.toString());
                assertEquals((double) expected / (2 * n), m.get(2 + i).get("bytes_vs_fp16").asDouble(), 1e-12);
            }
            for (JsonNode method : m) {
                double ratio = method.get("ratio_to_unavoidable").asDouble();
                assertEquals(method.get("seconds").asDouble()
                    / (layer.get("cholesky_seconds").asDouble() + layer.get("matmul_seconds").asDouble()), ratio, 1e-9);
            }
        }
        assertTrue(r.err().contains("down_proj [128 x 256]") && r.err().contains("gate_proj [256 x 128]"), r.err());
    }

    @Test
    void optionsOfTheOtherSubcommandAreRejected() {
        Run forward = run("bench", "forward", "--hidden", "128");
        assertEquals(2, forward.status());
        assertTrue(forward.err().contains("--hidden applies to 'bench compress'"), forward.err());
        Run compress = run("bench", "compress", "--seq-len", "128");
        assertEquals(2, compress.status());
        assertTrue(compress.err().contains("--seq-len applies to 'bench forward'"), compress.err());
        Run odd = run("bench", "compress", "--hidden", "200");
        assertEquals(2, odd.status());
        assertTrue(odd.err().contains("multiples of 128"), odd.err());
        assertEquals(0, run("bench", "compress", "--help").status());
    }
}
