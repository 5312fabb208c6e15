package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import io.evocompress.database.LayerVariant;
import io.evocompress.database.VariantDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code export --format compressed-tensors} (the default for quantized results) end to end: the
 * scheduler's 70% + INT4 on babyllama105 (groups of 32, which its widths 128 and 352 allow) and a
 * 3-bit EvoPress search on stories260K score in {@code eval} the perplexity the run reported, and one
 * layer's {@code weight_packed} decoded by hand from the format's description gives the variant's codes.
 */
class CompressedTensorsExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private static JsonNode lastJson(MainTest.Run r) throws Exception {
        assertEquals(0, r.status(), r.err());
        return JSON.readTree(r.out().strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    private static double evalPerplexity(Path model) throws Exception {
        return lastJson(MainTest.run("eval", "--model", model.toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "128", "--json")).get("perplexity").asDouble();
    }

    @Test
    void scheduledSeventyPercentInt4ExportScoresTheRunsPerplexityAndDecodesByHand() throws Exception {
        List<String> a = new ArrayList<>(List.of("schedule", "--config", SearchCommandTest.conf("schedule-70-int4.yaml").toString(),
            "--set", "model=" + Fixtures.model("babyllama105"), "--set", "output=" + tmp.resolve("s70q"),
            "--set", "database.path=" + tmp.resolve("db-s70q"), "--set", "database.max-level=0",
            "--set", "quantization.group-size=32",
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "evaluation.tokens=2048", "--json"));
        assertEquals(0, MainTest.run(a.toArray(new String[0])).status());
        JsonNode r = JSON.readTree(tmp.resolve("s70q").resolve("result.json").toFile());
        Path out = tmp.resolve("s70q-ct");
        JsonNode ex = lastJson(MainTest.run("export", "--result", tmp.resolve("s70q").toString(), "--out", out.toString(),
            "--dtype", "f32", "--json"));
        assertEquals("compressed-tensors", ex.get("format").asText());
        assertEquals(0, ex.get("per_channel_fallback").size(), ex.toString());
        assertEquals(35, ex.at("/config_groups/4-bit group 32").asInt(), ex.toString());
        JsonNode q = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
        assertEquals("compressed-tensors", q.get("quant_method").asText());
        assertEquals("pack-quantized", q.get("format").asText());
        assertEquals("compressed", q.get("quantization_status").asText());
        JsonNode w = q.at("/config_groups/group_0/weights");
        assertEquals(4, w.get("num_bits").asInt());
        assertEquals("int", w.get("type").asText());
        assertEquals("group", w.get("strategy").asText());
        assertEquals(32, w.get("group_size").asInt());
        assertTrue(w.get("actorder").isNull() && !w.get("dynamic").asBoolean() && !w.get("symmetric").asBoolean());
        assertEquals(List.of("lm_head"), JSON.convertValue(q.get("ignore"), List.class));

        assertEquals(r.at("/result/perplexity").asDouble(), evalPerplexity(out), 1e-4);

        // one layer by hand from the format's description, reading the safetensors bytes directly
        String layer = "model.layers.1.mlp.down_proj";
        int level = r.at("/result/profile").get(layer).asInt();
        LayerVariant.Quantized v = (LayerVariant.Quantized) VariantDatabase.open(r.at("/database/path").asText())
            .variant(layer, level);
        byte[] file = Files.readAllBytes(out.resolve("model.safetensors"));
        ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        JsonNode header = JSON.readTree(new String(file, 8, headerLen, StandardCharsets.UTF_8));
        int rows = v.rows();
        int cols = v.cols();
        JsonNode packed = header.get(layer + ".weight_packed");
        assertEquals("I32", packed.get("dtype").asText());
        assertEquals(List.of(rows, (cols + 7) / 8), JSON.convertValue(packed.get("shape"), List.class));
        JsonNode zp = header.get(layer + ".weight_zero_point");
        assertEquals(List.of((rows + 7) / 8, cols / 32), JSON.convertValue(zp.get("shape"), List.class));
        JsonNode shape = header.get(layer + ".weight_shape");
        assertEquals("I64", shape.get("dtype").asText());
        long shapeAt = 8 + headerLen + shape.get("data_offsets").get(0).asLong();
        assertEquals(rows, buf.getLong((int) shapeAt));
        assertEquals(cols, buf.getLong((int) shapeAt + 8));
        long codesAt = 8 + headerLen + packed.get("data_offsets").get(0).asLong();
        long zerosAt = 8 + headerLen + zp.get("data_offsets").get(0).asLong();
        long scalesAt = 8 + headerLen + header.get(layer + ".weight_scale").get("data_offsets").get(0).asLong();
        int wordsPerRow = (cols + 7) / 8;
        int groups = cols / 32;
        int pruned = 0;
        for (int row = 0; row < rows; row++) {
            for (int c = 0; c < cols; c++) {
                int word = buf.getInt((int) codesAt + 4 * (row * wordsPerRow + c / 8));
                int code = (word >>> (4 * (c % 8))) & 0xF;                     // stored q + 2^(b-1): the unsigned code
                int zword = buf.getInt((int) zerosAt + 4 * ((row / 8) * groups + c / 32));
                int zero = (zword >>> (4 * (row % 8))) & 0xF;
                float scale = buf.getFloat((int) scalesAt + 4 * (row * groups + c / 32));
                int g = row * groups + c / 32;
                assertEquals(v.zeros()[g], zero);
                assertEquals(v.scales()[g], scale);
                int i = row * cols + c;
                if (v.mask() != null && !v.mask()[i]) {
                    assertEquals(zero, code, "a pruned weight is stored as its zero point");
                } else {
                    assertEquals(v.q()[i], code, "code at " + row + ", " + c);
                }
                assertEquals(v.dense()[i], scale * (code - zero));
                pruned += code == zero ? 1 : 0;
            }
        }
        assertTrue(pruned > 0.5 * rows * cols, "about 70% pruned: " + pruned);
    }

    @Test
    void threeBitEvoPressExportHasOneGroupPerWidthAndScoresTheRunsPerplexity() throws Exception {
        Path resultDir = tmp.resolve("ct-bits");
        MainTest.Run s = MainTest.run("search", "--config", SearchCommandTest.conf("evopress-bits-3.yaml").toString(),
            "--set", "model=" + Fixtures.model("stories260K"), "--set", "output=" + resultDir,
            "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt"),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "final.tokens=2048", "--set", "database.path=" + tmp.resolve("db-ct-bits"),
            "--set", "database.group-size=0", "--set", "calibration.shards=2", "--set", "search.stages=2@512,1@2048",
            "--set", "search.offspring=8", "--set", "search.generations=30", "--set", "baselines=[uniform]",
            "--set", "domain.tie=[]", "--json");
        assertEquals(0, s.status(), s.err());
        JsonNode r = JSON.readTree(resultDir.resolve("result.json").toFile());
        Path out = tmp.resolve("bits-ct");
        JsonNode ex = lastJson(MainTest.run("export", "--result", resultDir.toString(), "--out", out.toString(),
            "--dtype", "f32", "--json"));
        assertEquals("compressed-tensors", ex.get("format").asText());
        JsonNode groups = JSON.readTree(out.resolve("config.json").toFile()).at("/quantization_config/config_groups");
        Set<Integer> widths = new HashSet<>();
        int targets = 0;
        for (JsonNode g : groups) {
            int bits = g.at("/weights/num_bits").asInt();
            assertTrue(widths.add(bits), "one group per width: " + groups);
            assertEquals("channel", g.at("/weights/strategy").asText());
            for (JsonNode t : g.get("targets")) {
                assertEquals(bits, r.at("/result/profile").get(t.asText()).asInt(), t.asText());
                targets++;
            }
        }
        assertEquals(r.at("/result/profile").size(), targets);
        assertTrue(widths.size() > 1, "a dynamic profile: " + widths);
        // every layer of another width than 4 by hand: 32 / b codes to a word from the low bits, none straddling
        byte[] file = Files.readAllBytes(out.resolve("model.safetensors"));
        ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        JsonNode header = JSON.readTree(new String(file, 8, headerLen, StandardCharsets.UTF_8));
        VariantDatabase db = VariantDatabase.open(r.at("/database/path").asText());
        int checked = 0;
        for (var it = r.at("/result/profile").properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            int b = e.getValue().asInt();
            if (b == 4) {
                continue;
            }
            LayerVariant.Quantized v = (LayerVariant.Quantized) db.variant(e.getKey(), b);
            int per = 32 / b;
            JsonNode packed = header.get(e.getKey() + ".weight_packed");
            assertEquals(List.of(v.rows(), (v.cols() + per - 1) / per), JSON.convertValue(packed.get("shape"), List.class));
            long at = 8 + headerLen + packed.get("data_offsets").get(0).asLong();
            int words = (v.cols() + per - 1) / per;
            for (int row = 0; row < v.rows(); row++) {
                for (int c = 0; c < v.cols(); c++) {
                    int word = buf.getInt((int) at + 4 * (row * words + c / per));
                    assertEquals(v.q()[row * v.cols() + c], (word >>> (b * (c % per))) & ((1 << b) - 1), e.getKey());
                }
            }
            checked++;
        }
        assertTrue(checked > 0);
        assertEquals(r.at("/result/perplexity").asDouble(), evalPerplexity(out), 1e-4);
        // the EvoPress profile file the search wrote, read back by export --profile-file: the same checkpoint
        String evopress = Files.readString(resultDir.resolve("evopress-profile.txt"));
        assertEquals(Files.readString(resultDir.resolve("profile.txt")), evopress, "bits: '<module>: <bits>' lines");
        Path again = tmp.resolve("bits-ct-file");
        lastJson(MainTest.run("export", "--result", resultDir.toString(), "--out", again.toString(), "--dtype", "f32",
            "--profile-file", resultDir.resolve("evopress-profile.txt").toString(), "--json"));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(out.resolve("model.safetensors")),
            Files.readAllBytes(again.resolve("model.safetensors"))), "same checkpoint from the profile file");
        assertEquals(Files.readString(out.resolve("config.json")), Files.readString(again.resolve("config.json")));
        // a line naming an impossible level, or an unknown module, fails naming the line
        String first = evopress.lines().findFirst().orElseThrow();
        String[][] bad = {
            {first.substring(0, first.lastIndexOf(':')) + ": 7", "line 1", "level 7"},
            {"model.layers.9.mlp.up_proj: 3", "line 1", "does not name a module"},
        };
        for (String[] b : bad) {
            Path f = tmp.resolve("bad-profile.txt");
            Files.writeString(f, b[0] + "\n" + evopress.substring(first.length() + 1));
            MainTest.Run e = MainTest.run("export", "--result", resultDir.toString(), "--out", tmp.resolve("never").toString(),
                "--profile-file", f.toString());
            assertEquals(1, e.status(), e.err());
            assertTrue(e.err().contains(b[1]) && e.err().contains(b[2]) && e.err().contains(f.toString()), e.err());
            assertTrue(!Files.exists(tmp.resolve("never")));
        }
        // --format dense keeps the dequantized output, which scores the same
        Path dense = tmp.resolve("bits-dense");
        JsonNode dx = lastJson(MainTest.run("export", "--result", resultDir.toString(), "--out", dense.toString(),
            "--dtype", "f32", "--format", "dense", "--json"));
        assertEquals("dense", dx.get("format").asText());
        assertTrue(JSON.readTree(dense.resolve("config.json").toFile()).path("quantization_config").isMissingNode());
        assertTrue(dx.get("checkpoint_bytes").asLong() > 2 * ex.get("checkpoint_bytes").asLong());
    }
}
