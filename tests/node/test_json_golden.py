"""net/node/json against the real thing: Python's own json module.

Each case is one line of bytes (a JSON text whose newlines, if any, are escaped). The
expected answer is what the seed node computes from a request body:
json.loads(body.decode('utf-8', 'surrogatepass')), then json.dumps with and without
sort_keys; a text Python refuses (ValueError, which covers JSONDecodeError, UnicodeDecodeError
and the 4,300-digit integer limit) must be refused. hf_node_json_tool (HF_NODE_JSON_TOOL)
answers every line in one run. Cases come from a fixed seed, so a failure repeats.
"""
import hashlib
import json
import math
import os
import random
import struct
import subprocess
import sys
import unittest

TOOL = os.environ.get('HF_NODE_JSON_TOOL')
SEED = 20240611


def python_answer(line):
    """(sorted dump, dump) as the seed node makes them, or None when Python refuses."""
    try:
        value = json.loads(line.decode('utf-8', 'surrogatepass'))
        return json.dumps(value, sort_keys=True), json.dumps(value)
    except (ValueError, RecursionError):
        return None


def run_tool(lines, *args):
    for line in lines:
        assert b'\n' not in line, line
    proc = subprocess.run([TOOL, *args], input=b''.join(l + b'\n' for l in lines), capture_output=True,
                          timeout=240, check=True)
    out = proc.stdout.split(b'\n')
    assert out[-1] == b'', 'the tool must end every answer with a newline'
    out = out[:-1]
    assert len(out) == len(lines), f'{len(out)} answers to {len(lines)} lines'
    return out


# ------------------------------------------------------------------------------------------
# Case generation

SPECIAL_CHARS = ['"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\x00', '\x1f', '\x7f', '\x80', '\xe9', '\u2028',
                 '\ud7ff', '\ue000', '\ufeff', '\uffff', '\U00010000', '\U0001f600', '\U0010ffff', '\ud800',
                 '\udbff', '\udc00', '\udfff', ' ', '~', '\x01']


def random_char(rng):
    r = rng.random()
    if r < 0.5:
        return chr(rng.randrange(0x20, 0x7f))
    if r < 0.7:
        return rng.choice(SPECIAL_CHARS)
    if r < 0.8:
        return chr(rng.randrange(0x80, 0x800))
    if r < 0.9:
        return chr(rng.randrange(0x800, 0x10000))  # includes lone surrogates
    return chr(rng.randrange(0x10000, 0x110000))


def random_string(rng, max_len=12):
    return ''.join(random_char(rng) for _ in range(rng.randrange(max_len + 1)))


def random_double(rng):
    return struct.unpack('<d', rng.getrandbits(64).to_bytes(8, 'little'))[0]


def random_number(rng):
    r = rng.random()
    if r < 0.25:
        return rng.randrange(-10**6, 10**6)
    if r < 0.35:
        return rng.randrange(-10**60, 10**60)
    if r < 0.6:
        return random_double(rng)
    if r < 0.8:
        return rng.uniform(-1, 1) * 10.0 ** rng.randrange(-30, 30)
    return rng.choice([0.0, -0.0, 1e16, 1e15, 1e-4, 1e-5, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308,
                       float('nan'), float('inf'), -float('inf'), 9999999999999998.0, 123456789012345680.0])


def random_value(rng, depth=0):
    r = rng.random()
    if depth < 6 and r < 0.2:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if depth < 6 and r < 0.4:
        d = {}
        for _ in range(rng.randrange(6)):
            d[random_string(rng, 6) if rng.random() < 0.5 else rng.choice('abcAB_é')] = random_value(rng, depth + 1)
        return d
    if r < 0.6:
        return random_string(rng)
    if r < 0.9:
        return random_number(rng)
    return rng.choice([None, True, False])


def encode_value(rng, value):
    """One of several ways a peer could write a value, as bytes on one line."""
    style = rng.randrange(4)
    if style == 0:
        text = json.dumps(value)
    elif style == 1:
        text = json.dumps(value, separators=(',', ':'))
    elif style == 2:
        text = json.dumps(value, separators=(' , ', ' :\t'))
    else:  # raw non-ASCII, lone surrogates as raw three-byte sequences
        text = json.dumps(value, ensure_ascii=False)
    if rng.random() < 0.2:
        text = rng.choice([' ', '\t', '\r', ' \r\t ']) + text + rng.choice(['', ' ', '\t\r'])
    return text.encode('utf-8', 'surrogatepass')


def float_texts(rng):
    """Number texts across magnitudes, forms and exponent boundaries."""
    texts = ['0.0', '-0.0', '1.0', '1E400', '-1E400', '1e-400', '-1e-400', '1e308', '1.7976931348623157e308',
             '1.7976931348623158e308', '1.7976931348623159e308', '2.2250738585072014e-308', '4.9e-324', '5e-324',
             '2.4703282292062327e-324', '2.4703282292062328e-324', '1e16', '1e15', '9999999999999998.0',
             '1e-4', '1e-5', '0.0001', '0.00001', '1E+2', '1e+0', '1e-0', '0e0', '0E99999999999999',
             '123456789012345680.0', '0.1', '0.30000000000000004', '1.5e16', '1.5e-5', '12345.678e-3',
             '1' * 400 + '.5', '0.' + '0' * 400 + '1', '9007199254740993.0', '9007199254740993e0',
             '1e99999999999999999999', '-1e-99999999999999999999', '3.141592653589793238462643383279']
    for e in range(-30, 30):
        texts.append(f'1e{e}')
        texts.append(f'-7.25e{e:+d}')
        texts.append(repr(10.0 ** e))
    for e in range(290, 330):
        texts.append(f'{rng.randrange(1, 10)}.{rng.randrange(10**15)}e{"-" if e % 2 else ""}{e}')
    for _ in range(800):
        d = random_double(rng)
        texts.append(json.dumps(d))
        texts.append(repr(d))
    for _ in range(300):  # random digit strings, longer than 17 digits too
        mant = str(rng.randrange(1, 10 ** rng.randrange(1, 30)))
        point = rng.randrange(len(mant) + 1)
        frac = mant[point:] or '0'
        text = (mant[:point] or '0') + '.' + frac
        text = str(int(text.split('.')[0])) + '.' + frac  # no leading zeros
        if rng.random() < 0.6:
            text += rng.choice('eE') + rng.choice(['', '+', '-']) + str(rng.randrange(0, 330))
        texts.append(rng.choice(['', '-']) + text)
    return texts


def integer_texts(rng):
    texts = ['0', '-0', '1', '-1', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
             '18446744073709551616', '9' * 4300, '-' + '9' * 4300, '1' + '0' * 4299, '9' * 4301,
             '-' + '9' * 4301, '1' + '0' * 5000]
    for _ in range(100):
        texts.append(str(rng.randrange(-10 ** rng.randrange(1, 200), 10 ** rng.randrange(1, 200))))
    return texts


STRING_CASES = [
    rb'"plain"', rb'""', rb'"\"\\\/\b\f\n\r\t"', rb'"\u0000\u001F\u007f\u0080\u00ff\u0100"',
    rb'"\ud83d\ude00"', rb'"\uD83D\uDE00"', rb'"\ud800"', rb'"\udfff"', rb'"\udc00\ud800"',
    rb'"\ud800\ud800\udc00"', rb'"\ud800x"', rb'"\ud800\n"', rb'"\ud800\u0041"', rb'"\ud800\u12"',
    rb'"\ud800\uzzzz"', rb'"\u12"', rb'"\u12G4"', rb'"\x41"', rb'"\U00000041"', rb'"\'"', rb'"\a"',
    b'"\xed\xa0\x80"', b'"\xed\xbf\xbf"', b'"\xed\xa0\xbd\xed\xb8\x80"', b'"\\ud83d\xed\xb8\x80"',
    b'"\xed\xa0\xbd\\ude00"', b'"\xed\x9f\xbf"', b'"\xee\x80\x80"', b'"\xef\xbb\xbf"', b'\xef\xbb\xbf"bom"',
    b'"\xc0\xaf"', b'"\xc1\xbf"', b'"\xc2\x80"', b'"\xdf\xbf"', b'"\xe0\x80\xaf"', b'"\xe0\xa0\x80"',
    b'"\xf0\x80\x80\xaf"', b'"\xf0\x90\x80\x80"', b'"\xf4\x8f\xbf\xbf"', b'"\xf4\x90\x80\x80"', b'"\xf5\x80\x80\x80"',
    b'"\xff"', b'"\xfe"', b'"\x80"', b'"\xbf"', b'"\xc3"', b'"\xc3\x28"', b'"\xe2\x82"', b'"\xed\xa0"',
    b'"\xf0\x9f\x98"', b'"a\x00b"', b'"a\x01b"', b'"a\x1fb"', b'"a\x7fb"', b'"a\tb"', b'"a\rb"', b'"\x20"',
    b'"caf\xc3\xa9"', b'"\xe2\x80\xa8\xe2\x80\xa9"', b'"unterminated', b'"\\', b'"\\u', b'"\\ud800\\',
]

STRUCTURE_CASES = [
    b'null', b'true', b'false', b'NaN', b'Infinity', b'-Infinity', b'nan', b'-NaN', b'+Infinity', b'-Inf',
    b'infinity', b'Null', b'True', b'nul', b'nulll', b'truefalse', b'[]', b'{}', b'[[]]', b'[{}]', b'{"a":[]}',
    b'[1,]', b'[,1]', b'[1,,2]', b'[1 2]', b'{"a":1,}', b'{,}', b'{"a" 1}', b'{"a":}', b'{a:1}', b"{'a':1}",
    b'{1:1}', b'{"a":1 "b":2}', b'[', b']', b'{', b'}', b'', b' ', b'\t', b'\r', b' \t\r ', b'1 2', b'{} {}',
    b'[] x', b'1,', b'"a" "b"', b'\x00', b'[1]\x00', b'\x00[1]', b'\xc2\xa0[1]', b'\x0b1', b'\x0c1', b'/*c*/1',
    b'01', b'00', b'-01', b'-', b'--1', b'+1', b'.5', b'1.', b'1.e5', b'1e', b'1e+', b'1e-', b'1ee5', b'0x10',
    b'1_000', b'1.5.5', b'-.5', b'-0', b'-0.0', b'0e1', b'0.0e-0', b'1E5', b'1e05', b'[-]', b'[1e]',
    b'{"a":1,"b":2,"a":3}', b'{"a":1,"a":{"x":1,"x":2},"a":[1]}', b'{"b":{"z":1,"y":2},"a":{"d":[{"c":1,"a":2}]}}',
    b'{"\\ud83d\\ude00":1,"\xed\xa0\xbd\xed\xb8\x80":2}', b'{"\xed\xa0\xbd\xed\xb8\x80":1,"\\ud83d\\ude00":2}',
    b'{"\\uffff":1,"\\ud83d\\ude00":2,"\\ud800":3,"\\u00e9":4,"":5,"A":6,"a":7}',
    b'{"a":1,"\\u0061":2}', b'{"\\/":1,"/":2}', b'[' * 60 + b']' * 60, b'{"a":' * 60 + b'1' + b'}' * 60,
    b'[' * 40 + b'{"k":' * 20 + b'null' + b'}' * 20 + b']' * 40, b'[' * 60 + b']' * 59, b' [ 1 , 2 ] ',
    b'\t{\r"a"\t:\r1\t}\r',
]


def mutate(rng, line):
    """A small random edit of a valid text: the differential fuzzing part."""
    b = bytearray(line)
    for _ in range(rng.randrange(1, 3)):
        op = rng.randrange(4)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            del b[min(pos, len(b) - 1)]
        elif op == 1:
            b[pos:pos] = rng.choice([b'"', b'\\', b',', b':', b'[', b']', b'{', b'}', b'-', b'.', b'e', b'0',
                                     b'\\u', b'\xed\xa0\x80', b'\xff', b'\xc3', b'\x00', b' ', b'\t', b'NaN'])
        elif op == 2 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        else:
            b = b[:pos]
    return bytes(b).replace(b'\n', b' ')


def make_block(rng, n_tx):
    """A block as the seed node builds one: a dict with a list of transaction dicts."""
    txs = []
    for i in range(n_tx):
        tx = {'sender': rng.getrandbits(128).to_bytes(16, 'big').hex(),
              'recipient': rng.getrandbits(128).to_bytes(16, 'big').hex(),
              'amount': rng.choice([rng.randrange(1, 10**6), round(rng.uniform(0, 1000), rng.randrange(1, 9)),
                                    random_double(rng) if i % 97 == 0 else 1.0])}
        if i % 50 == 0:
            tx['memo'] = random_string(rng, 20)
        if i % 13 == 0:
            tx['fee'] = 10 ** rng.randrange(1, 30)
        txs.append(tx)
    return {'index': 1000, 'timestamp': 1700000000.0 + rng.random() * 1e6, 'transactions': txs,
            'proof': rng.randrange(10**9), 'previous_hash': rng.getrandbits(256).to_bytes(32, 'big').hex()}


def all_cases():
    rng = random.Random(SEED)
    cases = list(STRING_CASES) + list(STRUCTURE_CASES)
    cases += [t.encode() for t in float_texts(rng)]
    cases += [('[' + t + ']').encode() for t in float_texts(rng)[:200]]
    cases += [t.encode() for t in integer_texts(rng)]
    generated = [encode_value(rng, random_value(rng)) for _ in range(1500)]
    cases += generated
    cases += [json.dumps(random_string(rng, 40)).encode() for _ in range(300)]
    cases += [json.dumps(random_string(rng, 40), ensure_ascii=False).encode('utf-8', 'surrogatepass')
              for _ in range(300)]
    cases += [mutate(rng, rng.choice(generated + STRUCTURE_CASES)) for _ in range(2000)]
    return cases


# ------------------------------------------------------------------------------------------

@unittest.skipUnless(TOOL, 'HF_NODE_JSON_TOOL is not set (ctest sets it)')
class JsonGolden(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The limit the seed node runs with (an environment variable could change it).
        sys.set_int_max_str_digits(4300)

    def compare(self, cases):
        answers = run_tool(cases)
        failures = []
        accepted = refused = 0
        for line, got in zip(cases, answers):
            want = python_answer(line)
            if want is None:
                refused += 1
                if not got.startswith(b'ERR '):
                    failures.append(f'{line[:200]!r}: Python refuses it, the tool says {got[:200]!r}')
                elif b'\n' in got or len(got) <= 4:
                    failures.append(f'{line[:200]!r}: refusal without a reason')
                continue
            accepted += 1
            expected = ('OK ' + want[0] + '\t' + want[1]).encode('ascii')
            if got != expected:
                failures.append(f'{line[:200]!r}:\n    python {expected[:300]!r}\n    tool   {got[:300]!r}')
        if failures:
            self.fail(f'{len(failures)} of {len(cases)} differ, the first ones:\n' + '\n'.join(failures[:15]))
        return accepted, refused

    def test_generated_cases_match_python(self):
        cases = all_cases()
        accepted, refused = self.compare(cases)
        print(f'\n{len(cases)} cases: {accepted} accepted, {refused} refused, all as Python', file=sys.stderr)
        self.assertGreater(accepted, 2500)
        self.assertGreater(refused, 500)

    def test_digit_limit_is_pythons(self):
        self.assertIsNotNone(python_answer(b'9' * 4300))
        self.assertIsNone(python_answer(b'9' * 4301))
        got = run_tool([b'9' * 4300, b'-' + b'9' * 4300, b'9' * 4301, b'[' + b'1' * 4301 + b']'])
        self.assertTrue(got[0].startswith(b'OK 9999'))
        self.assertTrue(got[1].startswith(b'OK -9999'))
        self.assertTrue(got[2].startswith(b'ERR '), got[2][:100])
        self.assertTrue(got[3].startswith(b'ERR '), got[3][:100])

    def test_block_of_1000_transactions(self):
        rng = random.Random(SEED + 1)
        block = make_block(rng, 1000)
        line = json.dumps(block).encode()
        self.compare([line, json.dumps(block, sort_keys=True).encode(),
                      json.dumps(block, ensure_ascii=False).encode('utf-8', 'surrogatepass')])
        # The hash the seed node would give this block, against the engine's SHA-256 of our dump.
        want = hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()
        got = run_tool([line], '--sha256')[0]
        self.assertEqual(got, b'OK ' + want.encode())
        sorted_dump = run_tool([line])[0][3:].split(b'\t')[0]
        self.assertEqual(hashlib.sha256(sorted_dump).hexdigest(), want)

    def test_nan_and_infinity_survive(self):
        got = run_tool([b'[NaN, Infinity, -Infinity, 1E400, -1e400]'])[0]
        self.assertEqual(got, b'OK [NaN, Infinity, -Infinity, Infinity, -Infinity]\t'
                              b'[NaN, Infinity, -Infinity, Infinity, -Infinity]')
        self.assertTrue(math.isinf(json.loads('1E400')))


if __name__ == '__main__':
    unittest.main()
