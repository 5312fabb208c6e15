package io.evocompress.evopress;

import io.evocompress.Fixtures;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.model.Residency;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code search.candidates-per-task: auto} (the default): streamed, a generation's candidates (offspring and
 * parent) spread over the task slots, one task per slot; resident, one per task; a configured count as given.
 */
class CandidatesPerTaskTest {
    @Test
    void autoGivesEachSlotOneTaskOfAGenerationWhenStreamed() {
        assertEquals(17, SearchJob.candidatesPerTask(0, true, 16, 1), "local[1]: the whole generation in one task");
        assertEquals(9, SearchJob.candidatesPerTask(0, true, 16, 2), "two slots: 9 + 8");
        assertEquals(3, SearchJob.candidatesPerTask(0, true, 16, 8));
        assertEquals(1, SearchJob.candidatesPerTask(0, true, 16, 64), "more slots than candidates: one each");
        assertEquals(1, SearchJob.candidatesPerTask(0, false, 16, 1), "resident: one at a time, one per task");
        assertEquals(4, SearchJob.candidatesPerTask(4, true, 16, 1), "configured");
        assertEquals(4, SearchJob.candidatesPerTask(4, false, 16, 1), "configured");
    }

    /** The driver's guess: the setting when it says; auto resolved on the driver; a device it cannot see is resident. */
    @Test
    void theDriverGuessesTheExecutorsResidencyWithoutFailingOnADeviceItLacks() {
        EvaluationSetup setup = EvaluationSetup.of(Fixtures.stories260k().toString(), null, FitnessKind.KL, 8);
        assertTrue(SearchJob.streamsOnExecutors(setup.withResidency(Residency.STREAMED, 0)));
        assertFalse(SearchJob.streamsOnExecutors(setup.withResidency(Residency.RESIDENT, 0)));
        assertFalse(SearchJob.streamsOnExecutors(setup.withDevice("cpu", "auto").withResidency(Residency.AUTO, 0)),
            "a 1 MB model fits the host");
        assertTrue(SearchJob.streamsOnExecutors(setup.withDevice("cpu", "auto").withResidency(Residency.AUTO, 1000)),
            "a 1000-byte device memory does not hold it");
        // this machine has no GPU: the executors' device is unknown here, so auto counts as resident (no failure)
        assertFalse(SearchJob.streamsOnExecutors(setup.withDevice("gpu", "auto").withResidency(Residency.AUTO, 0)));
    }
}
