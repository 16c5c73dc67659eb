"""End to end: small models train exactly like PyTorch from the same initial weights, a model
trained on cpu and saved reloads onto cuda with the same outputs, and the reference programs of
REFERENCE_MODELS.md run unchanged with ``import gputensor as torch``."""
import numpy as np
import pytest
import torch
from helpers import to_np

import gputensor as gt


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 5))


def lstm_classifier(lib):
    nn = lib.nn

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(20, 4)
            self.lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True)
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return self.fc(out[:, -1, :])
    return LSTMClassifier()


def copy_weights(src: "torch.nn.Module", dst: "gt.nn.Module") -> None:
    dst.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


def train(lib, model, make_opt, batches) -> list:
    opt = make_opt(lib, model)
    criterion = lib.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = criterion(model(lib.from_numpy(x)), lib.from_numpy(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


OPTIMIZERS = {
    "sgd_momentum": lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
    "adam": lambda lib, m: lib.optim.Adam(m.parameters(), lr=0.01),
}


def _cnn_batches(rng):
    return [(rng.standard_normal((4, 3, 6, 6)).astype(np.float32), rng.integers(0, 5, 4))
            for _ in range(4)]


def _seq_batches(rng):
    return [(rng.integers(0, 20, (3, 5)), rng.integers(0, 3, 3)) for _ in range(4)]


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("model,data", [(cnn, _cnn_batches), (lstm_classifier, _seq_batches)],
                         ids=["cnn", "lstm"])
def test_training_matches_torch(model, data, opt, rng):
    torch.manual_seed(0)
    t_model, g_model = model(torch), model(gt)
    copy_weights(t_model, g_model)
    batches = data(rng)
    t_losses = train(torch, t_model, OPTIMIZERS[opt], batches)
    g_losses = train(gt, g_model, OPTIMIZERS[opt], batches)
    np.testing.assert_allclose(g_losses, t_losses, rtol=2e-5, atol=1e-6)
    assert t_losses[-1] != t_losses[0]  # the steps really changed the model
    g_params = dict(g_model.named_parameters())
    for name, p in t_model.named_parameters():
        np.testing.assert_allclose(to_np(g_params[name]), p.detach().numpy(), atol=2e-5,
                                   err_msg=name)


@pytest.mark.parametrize("model,data", [(cnn, _cnn_batches), (lstm_classifier, _seq_batches)],
                         ids=["cnn", "lstm"])
def test_trained_on_cpu_reloads_on_cuda(model, data, rng, tmp_path):
    net = model(gt)
    batches = data(rng)[:2]
    train(gt, net, OPTIMIZERS["adam"], batches)
    path = str(tmp_path / "model.pth")
    gt.save(net.state_dict(), path)
    on_cuda = model(gt)
    on_cuda.load_state_dict(gt.load(path))
    on_cuda.to("cuda")
    mapped = model(gt).to("cuda")
    mapped.load_state_dict(gt.load(path, map_location="cuda"))
    x = batches[0][0][:2]
    net.eval()
    want = to_np(net(gt.from_numpy(x)))
    for m in (on_cuda.eval(), mapped.eval()):
        assert next(m.parameters()).device.type == "cuda"
        got = m(gt.from_numpy(x).to("cuda"))
        assert got.device.type == "cuda"
        np.testing.assert_allclose(to_np(got), want, atol=1e-5, rtol=1e-5)


# -- the reference programs, verbatim apart from the sizes (tiny on the simulated device) ------

HEADER = """
import gputensor as torch
import gputensor.nn as nn
import gputensor.nn.functional as F
import gputensor.optim as optim
from gputensor.utils.data import DataLoader, Dataset, TensorDataset
"""

CNN_PROGRAM = HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, C1, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(C1, C2, 3, padding=1)
        self.fc1 = nn.Linear(C2 * (IMG // 4) * (IMG // 4), HID)
        self.fc2 = nn.Linear(HID, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, C2 * (IMG // 4) * (IMG // 4))
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x

images = torch.randn(N, 3, IMG, IMG)
labels = (images[:, 0].mean((1, 2)) > 0).long()  # a learnable rule
trainloader = DataLoader(TensorDataset(images, labels), batch_size=BATCH, shuffle=True)
net = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
epoch_losses = []
for epoch in range(EPOCHS):
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(trainloader, 0):
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    epoch_losses.append(running_loss)
torch.save(net.state_dict(), PATH)
net2 = Net().to(device)
net2.load_state_dict(torch.load(PATH))
net.eval()
net2.eval()
with torch.no_grad():
    reload_diff = (net(inputs) - net2(inputs)).abs().max().item()
"""

LSTM_PROGRAM = HEADER + """
class LSTMNet(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                            num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        out, (hn, cn) = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])

class TextNet(nn.Module):
    def __init__(self, vocab, embed, hidden, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.dropout = nn.Dropout(0.5)
        self.lstm = nn.LSTM(embed, hidden, 2, dropout=0.5, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x):
        out, _ = self.lstm(self.dropout(self.embedding(x)))
        return self.fc(out[:, -1, :])

epoch_losses = []
for model, x in ((LSTMNet(FEAT, HID, 2, 10), torch.randn(BATCH, SEQ, FEAT)),
                 (TextNet(VOCAB, FEAT, HID, 10), torch.randint(0, VOCAB, (BATCH, SEQ)))):
    model = model.to(device)
    x, y = x.to(device), torch.randint(0, 10, (BATCH,)).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    model.train()
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        losses.append(criterion(model(x), y).item())
    epoch_losses.append(losses)
"""

REGRESSION_PROGRAM = HEADER + """
X = torch.randn(100, 2).to(device)
y = (X @ torch.tensor([[2.0], [-3.0]]).to(device) + 0.5)
model = nn.Linear(2, 1).to(device)
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)
for step in range(STEPS):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
linear_loss = loss.item()

labels = (X[:, 0] > X[:, 1]).float()
logistic = nn.Linear(2, 1).to(device)
bce = nn.BCELoss()
opt = optim.SGD(logistic.parameters(), lr=0.5)
for step in range(STEPS):
    opt.zero_grad()
    out = torch.sigmoid(logistic(X))
    loss = bce(out, labels.view(-1, 1))
    loss.backward()
    opt.step()
logistic_loss = F.binary_cross_entropy(torch.sigmoid(logistic(X)), labels.view(-1, 1)).item()

w = torch.randn(2, 1, requires_grad=True, device=device)
b = torch.zeros(1, requires_grad=True, device=device)
for step in range(STEPS):
    loss = torch.mean((X @ w + b - y) ** 2)
    loss.backward()
    with torch.no_grad():
        w -= 0.05 * w.grad
        b -= 0.05 * b.grad
        w.grad.zero_()
        b.grad.zero_()
by_hand_loss = loss.item()

w1 = (torch.randn(2, 8, device=device) * 0.5).requires_grad_()
b1 = torch.zeros(8, device=device, requires_grad=True)
w2 = (torch.randn(8, 1, device=device) * 0.5).requires_grad_()
b2 = torch.zeros(1, device=device, requires_grad=True)
first = None
for step in range(STEPS):
    h = torch.relu(X @ w1 + b1)
    pred = h @ w2 + b2
    loss = ((pred - y) ** 2).mean()
    first = loss.item() if first is None else first
    loss.backward()
    with torch.no_grad():
        for p in (w1, b1, w2, b2):
            p -= 0.01 * p.grad
            p.grad.zero_()
mlp_losses = (first, loss.item())
"""

AROUND_PROGRAM = HEADER + """
class MultiTaskNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2))
        self.heads = nn.ModuleList([nn.Linear(8, 3), nn.Linear(8, 1)])
        self.seq = nn.GRU(6, 4, batch_first=True)
        self.rnn = nn.RNN(4, 2)
        self.conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))

    def forward(self, x, seq, img):
        z = self.trunk(x)
        s, _ = self.seq(seq)
        r, _ = self.rnn(s.transpose(0, 1))
        return self.heads[0](z), self.heads[1](z), r[-1].sum(1) + self.conv(img).mean((1, 2, 3))

class Pairs(Dataset):
    def __init__(self, n):
        self.x, self.seq = torch.randn(n, 6), torch.randn(n, 3, 6)
        self.img, self.y = torch.randn(n, 1, 5, 5), torch.randint(0, 3, (n,))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.seq[i], self.img[i], self.y[i]

model = MultiTaskNet().to(device)
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
loader = DataLoader(Pairs(8), batch_size=4, shuffle=True)
model.train()
for epoch in range(2):
    for x, seq, img, y in loader:
        x, seq, img, y = x.to(device), seq.to(device), img.to(device), y.to(device)
        optimizer.zero_grad()
        cls, reg, aux = model(x, seq, img)
        loss = F.cross_entropy(cls, y) + F.mse_loss(reg.squeeze(1), aux.detach()) + aux.pow(2).mean()
        loss.backward()
        optimizer.step()
    scheduler.step()
model.eval()
with torch.no_grad():
    outputs = model(x, seq, img)
torch.save(model.state_dict(), PATH)
model.load_state_dict(torch.load(PATH))
final_lr = optimizer.param_groups[0]["lr"]
"""

SIZES = {  # reference sizes on cpu, tiny ones on the simulated device
    "cpu": {"C1": 32, "C2": 64, "IMG": 24, "HID": 128, "N": 16, "BATCH": 4, "EPOCHS": 4,
            "FEAT": 100, "VOCAB": 10000, "SEQ": 6, "STEPS": 30},
    "cuda": {"C1": 2, "C2": 3, "IMG": 8, "HID": 4, "N": 4, "BATCH": 2, "EPOCHS": 1,
             "FEAT": 3, "VOCAB": 7, "SEQ": 3, "STEPS": 2},
}


def run_program(src: str, device: str, tmp_path, **extra) -> dict:
    gt.manual_seed(0)
    ns = {"device": gt.device(device), "PATH": str(tmp_path / "model.pth"), **SIZES[device], **extra}
    exec(compile(src, "<reference program>", "exec"), ns)  # noqa: S102 (run programs verbatim)
    return ns


def test_reference_cnn(device, tmp_path):
    ns = run_program(CNN_PROGRAM, device, tmp_path)
    assert all(np.isfinite(ns["epoch_losses"]))
    assert ns["reload_diff"] == 0.0
    if device == "cpu":
        assert ns["epoch_losses"][-1] < ns["epoch_losses"][0]


def test_reference_lstms(device, tmp_path):
    ns = run_program(LSTM_PROGRAM, device, tmp_path)
    for losses in ns["epoch_losses"]:
        assert all(np.isfinite(losses))
        if device == "cpu":  # Adam memorizes one batch of 4
            assert losses[-1] < 0.5 * losses[0]


def test_reference_regressions(device, tmp_path):
    ns = run_program(REGRESSION_PROGRAM, device, tmp_path,
                     **({"STEPS": 1000} if device == "cpu" else {}))
    first, last = ns["mlp_losses"]
    assert np.isfinite(ns["linear_loss"]) and np.isfinite(ns["logistic_loss"]) and last < first
    if device == "cpu":
        assert ns["linear_loss"] < 1e-3 and ns["by_hand_loss"] < 1e-3
        assert ns["logistic_loss"] < 0.2


def test_reference_around_the_loop(device, tmp_path):
    ns = run_program(AROUND_PROGRAM, device, tmp_path)
    cls, reg, aux = ns["outputs"]
    assert tuple(cls.shape) == (4, 3) and tuple(reg.shape) == (4, 1) and tuple(aux.shape) == (4,)
    assert cls.device.type == device
    assert ns["final_lr"] == pytest.approx(0.05 * 0.25)
