package io.evocompress.compress;

import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.calibration.InputGroup;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A uniform run factorises each block's Hessians once per input group, not once per layer. */
class UniformCompressionTest {

    @Test
    void eachInputGroupOfABlockIsFactorisedOnce() {
        List<int[]> calibration = CalibrationFixtures.calibration(Fixtures.stories260k(), 8, 64);
        try (CausalLm model = CalibrationFixtures.load(Fixtures.stories260k())) {
            List<UniformCompression.LayerResult> layers = new ArrayList<>();
            long before = InverseFactor.factorisations();
            UniformCompression.Summary summary = UniformCompression.run(model, calibration, 4,
                new UniformCompression.Settings(UniformCompression.Method.SPARSEGPT, SparsityPattern.unstructured(0.5), null,
                    false), layers::add);
            // q, k, v share one factor and gate, up another: 4 per block instead of 7
            assertEquals(model.numBlocks() * InputGroup.values().length, InverseFactor.factorisations() - before);
            assertEquals(model.numBlocks() * LinearName.values().length, summary.layers());
            assertEquals(0.5, summary.meanSparsity(), 1e-3);
            layers.forEach(l -> assertTrue(l.errorEstimate() > 0, l.toString()));
        }
    }
}
