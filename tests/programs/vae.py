"""Variational auto-encoder, written like the official PyTorch VAE example.

Synthetic binary "images" of 8x8 (random strokes, NumPy, fixed seed) replace MNIST; the model is
the example's fc1 -> (fc21, fc22) -> reparameterize -> fc3 -> fc4 with BCE + KLD loss.
"""
import argparse

import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F

D_IN, D_HID, D_Z = 64, 32, 4


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(D_IN, D_HID)
        self.fc21 = nn.Linear(D_HID, D_Z)
        self.fc22 = nn.Linear(D_HID, D_Z)
        self.fc3 = nn.Linear(D_Z, D_HID)
        self.fc4 = nn.Linear(D_HID, D_IN)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, D_IN))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, D_IN), reduction='sum')

    # see Appendix B from VAE paper:
    # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    return BCE + KLD


def strokes(n, rng):
    img = np.zeros((n, 1, 8, 8), dtype=np.float32)
    rows, cols = rng.integers(0, 8, n), rng.integers(0, 8, n)
    img[np.arange(n), 0, rows, :] = 1.0
    img[np.arange(n), 0, :, cols] = 1.0
    return torch.from_numpy(img)


def main():
    parser = argparse.ArgumentParser(description='VAE example')
    parser.add_argument('--batch-size', type=int, default=16, metavar='N')
    parser.add_argument('--epochs', type=int, default=2, metavar='N')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--train-size', type=int, default=64, metavar='N')
    parser.add_argument('--seed', type=int, default=1, metavar='S')
    parser.add_argument('--log-interval', type=int, default=2, metavar='N')
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    rng = np.random.default_rng(args.seed)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(strokes(args.train_size, rng)), batch_size=args.batch_size,
        shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(strokes(args.train_size // 2, rng)),
        batch_size=args.batch_size,
        shuffle=False)

    model = VAE().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0
        for batch_idx, (data,) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print('Train Epoch: {} [{}/{}]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    loss.item() / len(data)))
        print('====> Epoch: {} Average loss: {:.4f}'.format(
            epoch, train_loss / len(train_loader.dataset)))

        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data,) in enumerate(test_loader):
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
                if i == 0:
                    n = min(data.size(0), 8)
                    comparison = torch.cat([data[:n],
                                            recon_batch.view(data.size(0), 1, 8, 8)[:n]])
                    assert comparison.shape == (2 * n, 1, 8, 8)
        print('====> Test set loss: {:.4f}'.format(test_loss / len(test_loader.dataset)))
        with torch.no_grad():
            sample = torch.randn(8, D_Z).to(device)
            sample = model.decode(sample).cpu()
            assert sample.view(8, 1, 8, 8).min() >= 0


if __name__ == "__main__":
    main()
