package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compressed-tensors pack-quantized codec: round trips at every width, the word layout, the reader's errors. */
class PackQuantizedTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    java.nio.file.Path tmp;

    @Test
    void packThenUnpackIsTheIdentityAtEveryWidth() {
        Random rnd = new Random(15);
        for (int bits = 2; bits <= 8; bits++) {
            int rows = 7;
            int cols = 37;   // not a multiple of 32 / b for any b: every row ends in a partial word
            int[] codes = new int[rows * cols];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = rnd.nextInt(1 << bits);
            }
            codes[0] = (1 << bits) - 1;   // the extreme codes too
            codes[1] = 0;
            int[] packed = PackQuantized.packRows(codes, rows, cols, bits);
            assertEquals(rows * ((cols + 32 / bits - 1) / (32 / bits)), packed.length, "bits " + bits);
            assertArrayEquals(codes, PackQuantized.unpackRows(packed, rows, cols, bits), "rows, bits " + bits);
            int[] cp = PackQuantized.packColumns(codes, rows, cols, bits);
            assertEquals(((rows + 32 / bits - 1) / (32 / bits)) * cols, cp.length, "bits " + bits);
            assertArrayEquals(codes, PackQuantized.unpackColumns(cp, rows, cols, bits), "columns, bits " + bits);
        }
    }

    /** The word layout by hand: 3-bit codes 0..9 fill bits 0..29 of one word, code 10 starts the next. */
    @Test
    void codesFillWordsFromTheLowBitsAndNeverStraddle() {
        int[] codes = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 5};
        int[] packed = PackQuantized.packRows(codes, 1, codes.length, 3);
        int expected = 0;
        for (int j = 0; j < 10; j++) {
            expected |= codes[j] << (3 * j);
        }
        assertArrayEquals(new int[] {expected, 5}, packed);
        // 4 bits: eight codes a word, low nibble first (the same as one bit stream per row)
        assertArrayEquals(new int[] {0x87654321, 0x9}, PackQuantized.packRows(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 9, 4));
        // zero points along dimension 0: rows 0..7 of one column share a word
        assertArrayEquals(new int[] {0x00000F1E, 0x0000000C},
            PackQuantized.packColumns(new int[] {14, 12, 1, 0, 15, 0}, 3, 2, 4));
    }

    /** Written with CheckpointWriter and dequantized by the reader: scale * (code - zero) bit for bit, every width. */
    @Test
    void writtenLayersDequantizeExactlyAtEveryWidthBothStrategies() throws Exception {
        Random rnd = new Random(7);
        int rows = 9;
        int cols = 64;
        Map<String, PackQuantized.Scheme> schemes = new java.util.LinkedHashMap<>();
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
        Map<String, float[]> expected = new java.util.HashMap<>();
        for (int bits = 2; bits <= 8; bits++) {
            for (int variant = 0; variant < 3; variant++) {
                PackQuantized.Scheme s = new PackQuantized.Scheme(bits, variant == 2, variant == 0 ? 32 : 0);
                String layer = "m.b" + bits + "v" + variant;
                int groups = s.groups(cols);
                int[] codes = new int[rows * cols];
                float[] scales = new float[rows * groups];
                int[] zeros = new int[rows * groups];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = rnd.nextInt(1 << bits);
                }
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = (float) (0.01 + rnd.nextDouble());
                    zeros[i] = s.symmetric() ? 1 << (bits - 1) : rnd.nextInt(1 << bits);
                }
                float[] w = new float[rows * cols];
                int g = s.groupSize() == 0 ? cols : s.groupSize();
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        int p = r * groups + c / g;
                        w[r * cols + c] = scales[p] * (codes[r * cols + c] - zeros[p]);
                    }
                }
                expected.put(layer, w);
                schemes.put(layer, s);
                tensors.addAll(PackQuantized.tensors(layer, rows, cols, s, codes, scales, zeros));
            }
        }
        ObjectNode config = JSON.createObjectNode();
        config.set("quantization_config", PackQuantized.quantizationConfig(schemes, List.of("lm_head")));
        Path out = new Path(tmp.resolve("ckpt").toString());
        new CheckpointWriter(DType.F32, 1, false).write(HadoopFiles.fileSystem(out, HadoopFiles.defaultConf()), out,
            config.toString(), tensors, null, null);
        JsonNode q = JSON.readTree(tmp.resolve("ckpt/config.json").toFile()).get("quantization_config");
        assertEquals(21, q.get("config_groups").size(), "one group per distinct scheme");
        assertEquals("channel", q.at("/config_groups/group_1/weights/strategy").asText());
        assertTrue(q.at("/config_groups/group_1/weights/group_size").isNull());
        try (CheckpointReader reader = CheckpointReader.open(out.toString())) {
            PackedWeights packed = PackedWeights.of(reader);
            for (Map.Entry<String, float[]> e : expected.entrySet()) {
                assertTrue(packed.covers(e.getKey() + ".weight"));
                assertArrayEquals(e.getValue(), packed.dequantize(e.getKey() + ".weight", rows, cols), e.getKey());
            }
            assertFalse(packed.covers("lm_head.weight"));
        }
    }

    @Test
    void unsupportedSchemesFailNamingConfigJson() throws Exception {
        String[] bad = {
            "{\"quant_method\":\"compressed-tensors\",\"format\":\"float-quantized\",\"config_groups\":{}}",
            "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":{\"g\":{\"targets\":[\"Linear\"],"
                + "\"weights\":{\"num_bits\":4,\"type\":\"int\",\"strategy\":\"group\",\"group_size\":128},"
                + "\"input_activations\":{\"num_bits\":8,\"type\":\"int\"}}}}",
            "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":{\"g\":{\"targets\":[\"Linear\"],"
                + "\"weights\":{\"num_bits\":8,\"type\":\"float\",\"strategy\":\"channel\"}}}}",
        };
        String[] words = {"format 'float-quantized'", "quantizes activations", "not float formats"};
        for (int i = 0; i < bad.length; i++) {
            Path p = new Path(tmp.resolve("bad" + i).toString());
            new CheckpointWriter(DType.F32, 1, true).write(HadoopFiles.fileSystem(p, HadoopFiles.defaultConf()), p,
                "{\"quantization_config\":" + bad[i] + "}", List.of(new CheckpointWriter.Tensor("x", new long[] {1},
                    () -> new float[] {0})), null, null);
            try (CheckpointReader reader = CheckpointReader.open(p.toString())) {
                EvocompressException e = assertThrows(EvocompressException.class, () -> PackedWeights.of(reader));
                assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(words[i]), e.getMessage());
            }
        }
    }

    /** As llm-compressor writes W4A16: targets [Linear], symmetric groups of 128, no zero point, bf16 scales. */
    @Test
    void llmCompressorStyleW4A16WithLinearTargetsAndNoZeroPointLoads() throws Exception {
        int rows = 3;
        int cols = 256;
        Random rnd = new Random(4);
        PackQuantized.Scheme s = new PackQuantized.Scheme(4, true, 128);
        int[] codes = new int[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = rnd.nextInt(16);
        }
        float[] scales = {0.5f, 0.25f, 1f, 2f, 0.125f, 4f};
        int[] zeros = {8, 8, 8, 8, 8, 8};
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>(PackQuantized.tensors("model.layers.0.mlp.up_proj", rows, cols, s,
            codes, scales, zeros));
        tensors.add(new CheckpointWriter.Tensor("lm_head.weight", new long[] {2, 2}, () -> new float[] {1, 2, 3, 4}));
        String config = "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\","
            + "\"quantization_status\":\"compressed\",\"ignore\":[\"lm_head\"],\"kv_cache_scheme\":null,"
            + "\"config_groups\":{\"group_0\":{\"targets\":[\"Linear\"],\"input_activations\":null,\"output_activations\":null,"
            + "\"weights\":{\"num_bits\":4,\"type\":\"int\",\"symmetric\":true,\"strategy\":\"group\",\"group_size\":128,"
            + "\"actorder\":\"static\",\"dynamic\":false,\"observer\":\"minmax\"}}}}}";
        Path out = new Path(tmp.resolve("w4a16").toString());
        new CheckpointWriter(DType.BF16, 1, false).write(HadoopFiles.fileSystem(out, HadoopFiles.defaultConf()), out,
            config, tensors, null, null);
        try (CheckpointReader reader = CheckpointReader.open(out.toString())) {
            assertFalse(reader.has("model.layers.0.mlp.up_proj.weight_zero_point"));
            PackedWeights packed = PackedWeights.of(reader);
            assertFalse(packed.covers("lm_head.weight"));
            float[] w = packed.dequantize("model.layers.0.mlp.up_proj.weight", rows, cols);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(scales[r * 2 + c / 128] * (codes[r * cols + c] - 8), w[r * cols + c], 0f);
                }
            }
        }
    }
}
