package io.evocompress.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.cli.MainTest.Run;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static io.evocompress.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compress --method rtn} writes compressed-tensors pack-quantized: groups of 32 on stories260K's
 * 64-input layers, one grid per row on its 172-input down_proj (groups of 32 do not divide 172); the
 * loaded weights equal the dense-format output of the same grids exactly.
 */
class CompressPackQuantizedTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Run compress(Path out, String... extra) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("compress", "--model",
            Fixtures.stories260k().toString(), "--method", "rtn", "--bits", "3", "--out", out.toString(), "--dtype", "f32",
            "--json"));
        a.addAll(java.util.List.of(extra));
        Run r = run(a.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return r;
    }

    @Test
    void rtnThreeBitIsPackQuantizedWithPerChannelDownProjAndLoadsTheSameWeights(@TempDir Path tmp) throws Exception {
        Path ct = tmp.resolve("ct");
        JsonNode r = compress(ct, "--group-size", "32").json();
        assertEquals("compressed-tensors", r.get("format").asText());
        assertEquals(5, r.get("per_channel").size(), r.toString());
        JsonNode q = JSON.readTree(ct.resolve("config.json").toFile()).get("quantization_config");
        assertEquals(2, q.get("config_groups").size(), q.toString());
        JsonNode g0 = q.at("/config_groups/group_0");
        assertEquals("group", g0.at("/weights/strategy").asText());
        assertEquals(32, g0.at("/weights/group_size").asInt());
        assertEquals(3, g0.at("/weights/num_bits").asInt());
        assertEquals(30, g0.get("targets").size());
        assertEquals("channel", q.at("/config_groups/group_1/weights/strategy").asText());
        assertTrue(q.at("/config_groups/group_1/targets").toString().contains("model.layers.4.mlp.down_proj"));

        Path grouped = tmp.resolve("dense-g32");
        compress(grouped, "--group-size", "32", "--format", "dense");
        Path channel = tmp.resolve("dense-g0");
        compress(channel, "--group-size", "0", "--format", "dense");
        try (CheckpointReader a = CheckpointReader.open(ct.toString());
             CausalLm packed = ModelLoader.load(a, Device.cpu(), DataType.FLOAT32);
             CheckpointReader g = CheckpointReader.open(grouped.toString());
             CheckpointReader c = CheckpointReader.open(channel.toString())) {
            for (int b = 0; b < 5; b++) {
                for (LinearName n : LinearName.values()) {
                    String name = "model.layers." + b + "." + n.path() + ".weight";
                    float[] expected = (n == LinearName.DOWN_PROJ ? c : g).readFloat(name);
                    assertArrayEquals(expected, packed.block(b).weight(n).toFloatArray(), name);
                }
            }
        }
    }
}
