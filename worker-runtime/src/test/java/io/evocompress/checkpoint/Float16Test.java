package io.evocompress.checkpoint;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** float32 to and from bfloat16 and IEEE half precision, rounding to nearest even. */
class Float16Test {

    private static int bf16(float f) {
        return Float16.floatToBf16(f) & 0xffff;
    }

    private static int f16(float f) {
        return Float16.floatToF16(f) & 0xffff;
    }

    private static float bits(int b) {
        return Float.intBitsToFloat(b);
    }

    private static String hex(int h) {
        return String.format("0x%04x", h);
    }

    @Test
    void bfloat16ClosedFormCases() {
        assertEquals(0x3f80, bf16(1.0f));
        assertEquals(0xc020, bf16(-2.5f));
        assertEquals(0x0000, bf16(0.0f));
        assertEquals(0x8000, bf16(-0.0f));
        // 65504 = 0x477fe000: the dropped half 0xe000 is above the midpoint, so it rounds up to 2^16.
        assertEquals(0x4780, bf16(65504f));
        assertEquals(65536f, Float16.bf16ToFloat((short) 0x4780));
        // 1e-8 = 0x322bcc77 is normal in bf16 (same exponent range as float32): rounds up to 0x322c.
        assertEquals(0x322bcc77, Float.floatToRawIntBits(1e-8f));
        assertEquals(0x322c, bf16(1e-8f));
        // Float32 subnormals keep their top bits.
        assertEquals(0x0001, bf16(bits(0x00010000)));
        assertEquals(0x0000, bf16(bits(0x00007fff)));
        // Ties go to the even neighbour; anything past the tie rounds up.
        assertEquals(0x3f80, bf16(bits(0x3f808000)));
        assertEquals(0x3f82, bf16(bits(0x3f818000)));
        assertEquals(0x3f81, bf16(bits(0x3f808001)));
        assertEquals(0x3f81, bf16(bits(0x3f80ffff)));
        assertEquals(0x3f80, bf16(bits(0x3f807fff)));
        // Overflow and specials.
        assertEquals(0x7f80, bf16(Float.MAX_VALUE));
        assertEquals(0x7f7f, bf16(bits(0x7f7f7fff)));
        assertEquals(0x7f80, bf16(Float.POSITIVE_INFINITY));
        assertEquals(0xff80, bf16(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(Float16.bf16ToFloat(Float16.floatToBf16(Float.NaN))));
        // A NaN whose payload sits only in the low 16 bits must not become infinity.
        int quieted = bf16(bits(0x7f800001));
        assertEquals(0x7f80, quieted & 0x7f80);
        assertTrue((quieted & 0x7f) != 0, hex(quieted));
        assertTrue(Float.isNaN(Float16.bf16ToFloat((short) quieted)));
        assertEquals(0x8000, bf16(bits(0xff800001)) & 0x8000, "sign of NaN kept");

        assertEquals(-2.5f, Float16.bf16ToFloat((short) 0xc020));
        assertEquals(1.0f, Float16.bf16ToFloat((short) 0x3f80));
    }

    @Test
    void halfPrecisionClosedFormCases() {
        assertEquals(0x3c00, f16(1.0f));
        assertEquals(0xc100, f16(-2.5f));
        assertEquals(0x7bff, f16(65504f));
        assertEquals(0x7bff, f16(65519.996f), "just below the midpoint to infinity");
        assertEquals(0x7c00, f16(65520f), "the midpoint to infinity rounds to even: infinity");
        assertEquals(0x7c00, f16(1e5f));
        assertEquals(0xfc00, f16(-1e5f));
        assertEquals(0x0000, f16(0f));
        assertEquals(0x8000, f16(-0f));
        // 1e-8 is a quarter of the smallest subnormal (2^-24 = 5.96e-8): zero, keeping the sign.
        assertEquals(0x0000, f16(1e-8f));
        assertEquals(0x8000, f16(-1e-8f));
        // Subnormals: mant * 2^-24.
        assertEquals(0x0001, f16(0x1p-24f));
        assertEquals(0x0000, f16(0x1p-25f), "tie between 0 and 1 -> 0 (even)");
        assertEquals(0x0001, f16(Math.nextUp(0x1p-25f)));
        assertEquals(0x0002, f16(3 * 0x1p-25f), "tie between 1 and 2 -> 2");
        assertEquals(0x0002, f16(5 * 0x1p-25f), "tie between 2 and 3 -> 2");
        assertEquals(0x03ff, f16(1023 * 0x1p-24f), "largest subnormal");
        assertEquals(0x0400, f16(1023.5f * 0x1p-24f), "tie between the largest subnormal and 2^-14 -> 2^-14");
        assertEquals(0x0400, f16(0x1p-14f), "smallest normal");
        // Normal ties: 1 + 2^-11 lies halfway between 0x3c00 and 0x3c01.
        assertEquals(0x3c00, f16(1 + 0x1p-11f));
        assertEquals(0x3c02, f16(1 + 3 * 0x1p-11f));
        assertEquals(0x3c01, f16(Math.nextUp(1 + 0x1p-11f)));
        assertEquals(0x3c00, f16(Math.nextDown(1 + 0x1p-11f)));
        // Rounding up carries into the exponent: 2 - 2^-12 rounds to 2.0 = 0x4000.
        assertEquals(0x4000, f16(2 - 0x1p-12f));
        // Specials.
        assertEquals(0x7c00, f16(Float.POSITIVE_INFINITY));
        assertEquals(0xfc00, f16(Float.NEGATIVE_INFINITY));
        int nan = f16(Float.NaN);
        assertEquals(0x7c00, nan & 0x7c00);
        assertTrue((nan & 0x3ff) != 0, hex(nan));

        assertEquals(65504f, Float16.f16ToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Float16.f16ToFloat((short) 0x0001));
        assertEquals(-0x1p-24f, Float16.f16ToFloat((short) 0x8001));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Float16.f16ToFloat((short) 0x8000)));
        assertEquals(Float.NEGATIVE_INFINITY, Float16.f16ToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(Float16.f16ToFloat((short) 0x7e00)));
    }

    @Test
    void everyHalfPrecisionBitPatternSurvivesARoundTripThroughFloat() {
        int nans = 0;
        for (int h = 0; h < 0x10000; h++) {
            float f = Float16.f16ToFloat((short) h);
            boolean isNaN = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
            if (isNaN) {
                nans++;
                assertTrue(Float.isNaN(f), hex(h));
                assertTrue(Float.isNaN(Float16.f16ToFloat(Float16.floatToF16(f))), hex(h));
                continue;
            }
            assertEquals(h, f16(f), hex(h) + " -> " + f);
        }
        assertEquals(2 * 1023, nans);
    }

    @Test
    void everyBfloat16BitPatternSurvivesARoundTripThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Float16.bf16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Float16.bf16ToFloat(Float16.floatToBf16(f))), hex(h));
                continue;
            }
            assertEquals(h, bf16(f), hex(h) + " -> " + f);
        }
    }

    /** The nearest finite half to |x| by search over all 31,744 of them, ties to the even pattern; 0x7c00 past 65520. */
    private static int nearestHalf(float x) {
        float a = Math.abs(x);
        int sign = Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0;
        if (a >= 65520f) {
            return sign | 0x7c00;
        }
        int lo = 0;
        int hi = 0x7bff;
        while (hi - lo > 1) { // positive halves are ordered like their bit patterns
            int mid = (lo + hi) >>> 1;
            if (Float16.f16ToFloat((short) mid) <= a) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double dLo = a - (double) Float16.f16ToFloat((short) lo);
        double dHi = (double) Float16.f16ToFloat((short) hi) - a;
        int pick = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) == 0 ? lo : hi);
        return sign | pick;
    }

    @Test
    void halfPrecisionRoundsToNearestEvenLikeAnExhaustiveSearch() {
        SplittableRandom random = new SplittableRandom(1234);
        for (int i = 0; i < 200_000; i++) {
            // Uniform over float bit patterns from 0 to just past 65520, either sign.
            float x = bits(random.nextInt(0x47800100)) * (random.nextBoolean() ? 1 : -1);
            assertEquals(nearestHalf(x), f16(x), "x=" + x + " bits " + Integer.toHexString(Float.floatToRawIntBits(x)));
        }
        // Every exact midpoint between neighbouring halves, and the floats just around it.
        for (int h = 0; h < 0x7bff; h++) {
            float mid = (float) (((double) Float16.f16ToFloat((short) h) + Float16.f16ToFloat((short) (h + 1))) / 2);
            for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                assertEquals(nearestHalf(x), f16(x), "x=" + x + " near the midpoint above " + hex(h));
            }
            assertEquals((h & 1) == 0 ? h : h + 1, f16(mid), "midpoint above " + hex(h));
        }
    }
}
