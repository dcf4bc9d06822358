"""`tunewise serve` and the device policy: with CUDA pretended present (tests/fake_cuda.py) the
base model and its adapters load onto the GPU and the server answers over real HTTP; a device this
machine lacks is exit 2 before anything loads."""
from __future__ import annotations

from tests.fake_cuda import fake_cuda
from tests.serve_support import Server, tiny_runs


def test_served_model_and_adapters_go_to_the_gpu(tmp_path_factory, monkeypatch):
    from tunewise.serving import create_app, load_served
    runs = tiny_runs(tmp_path_factory.mktemp("serve-device-runs"))
    fake = fake_cuda(monkeypatch)
    served = load_served("tiny-random", {"a": str(runs["a"])}, dtype="auto", device="auto")
    assert fake.modules_moved() == ["cuda:0"]
    with Server(create_app(served=served, max_batch=4, batch_wait_ms=5)) as s:
        out = s.client().chat.completions.create(
            model="a", temperature=0, max_tokens=4,
            messages=[{"role": "user", "content": "a lovely film"}])
    assert out.choices[0].message.content is not None


def test_serve_on_a_device_this_machine_lacks_exits_2(cli):
    r = cli("serve", "--model", "tiny-random", "--device", "cuda:0", "--port", "0")
    assert r.returncode == 2 and "no CUDA GPU" in r.stderr and "Traceback" not in r.stderr
    r = cli("serve", "--model", "tiny-random", "--device", "gpu", "--port", "0")
    assert r.returncode == 2 and "device: 'gpu'" in r.stderr
