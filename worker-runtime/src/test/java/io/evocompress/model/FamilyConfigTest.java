package io.evocompress.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each family reads its own config.json keys (as {@code save_pretrained} writes them), and options it
 * cannot run fail when the config is read, naming the file, the key and the value.
 */
class FamilyConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode fixtureConfig(String fixture) throws IOException {
        return (ObjectNode) JSON.readTree(Files.readString(Fixtures.model(fixture).resolve("config.json")));
    }

    @Test
    void theFixturesConfigsMapOntoTheirFamilies() throws IOException {
        ModelConfig opt = ArchitectureRegistry.parseConfig(fixtureConfig("tiny-opt").toString(), "opt");
        assertEquals(256, opt.intermediateSize());                         // ffn_dim
        assertEquals(ForwardSpec.Positions.LEARNED, opt.forward().positions());
        assertEquals(2, opt.forward().positionOffset());
        assertTrue(opt.tieWordEmbeddings() && opt.qkvBias() && opt.mlpBias() && opt.forward().finalNorm());
        ModelConfig bloom = ArchitectureRegistry.parseConfig(fixtureConfig("tiny-bloom").toString(), "bloom");
        assertEquals(4, bloom.numHeads());                                 // n_head
        assertEquals(4, bloom.numLayers());                                // n_layer
        assertEquals(256, bloom.intermediateSize());                       // 4 x hidden
        assertEquals(ForwardSpec.Mlp.GELU_TANH, bloom.forward().mlp());
        assertTrue(bloom.forward().embedNorm());
        ModelConfig phi3 = ArchitectureRegistry.parseConfig(fixtureConfig("tiny-phi3").toString(), "phi3");
        assertEquals(4, phi3.numKvHeads());
        assertFalse(phi3.tieWordEmbeddings());
        assertNull(phi3.ropeScaling());
    }

    @Test
    void bloomSlowButExactTensorParallelismFailsNamingBothKeys() throws IOException {
        ObjectNode c = fixtureConfig("tiny-bloom").put("pretraining_tp", 4).put("slow_but_exact", true);
        String m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(c.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: slow_but_exact true with pretraining_tp 4"), m);
        // without slow_but_exact the same weights are the same model: accepted
        ArchitectureRegistry.parseConfig(c.put("slow_but_exact", false).toString(), "m/config.json");
    }

    @Test
    void bloomResidualFromTheNormFails() throws IOException {
        ObjectNode c = fixtureConfig("tiny-bloom").put("apply_residual_connection_post_layernorm", true);
        String m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(c.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: apply_residual_connection_post_layernorm true"), m);
    }

    @Test
    void optWithoutAffineLayerNormsOrWithAnotherActivationFails() throws IOException {
        ObjectNode c = fixtureConfig("tiny-opt").put("layer_norm_elementwise_affine", false);
        String m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(c.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: layer_norm_elementwise_affine false"), m);
        ObjectNode gelu = fixtureConfig("tiny-opt").put("activation_function", "gelu");
        m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(gelu.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: activation_function 'gelu'"), m);
    }

    @Test
    void phi3PartialRotaryAndBadLongropeFail() throws IOException {
        ObjectNode c = fixtureConfig("tiny-phi3").put("partial_rotary_factor", 0.5);
        String m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(c.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: partial_rotary_factor 0.5"), m);
        ObjectNode lr = fixtureConfig("tiny-phi3");
        lr.putObject("rope_scaling").put("type", "longrope").putArray("short_factor").add(1.0);
        m = assertThrows(EvocompressException.class, () -> ArchitectureRegistry.parseConfig(lr.toString(), "m/config.json"))
            .getMessage();
        assertTrue(m.startsWith("m/config.json: rope_scaling.long_factor"), m);
    }
}
