package io.evocompress.baselines;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.StreamedLm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** ShortGPT's block similarities with the weights streamed block by block equal the resident ones bit for bit. */
class StreamedBlockSimilarityTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-opt", "tiny-phi3"})
    void streamedSimilaritiesAreTheResidentOnes(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        List<int[]> seqs = new ArrayList<>(CalibrationFixtures.calibration(dir, 3, 64));
        seqs.add(Arrays.copyOf(seqs.get(0), 17));   // another length
        double[] resident;
        try (CausalLm model = CalibrationFixtures.load(dir)) {
            resident = BlockSimilarity.cosine(model, seqs);
        }
        try (StreamedLm model = StreamedLm.open(dir.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32,
                new HostWeightCache(0))) {
            assertArrayEquals(resident, BlockSimilarity.cosine(model, seqs), 0.0, fixture);
        }
    }
}
