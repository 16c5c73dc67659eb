"""Super-resolution by sub-pixel convolution, written like the official super_resolution example.

Low-resolution inputs are 2x2 box-averaged synthetic high-resolution images (smooth random
sinusoids, NumPy, fixed seed) standing in for BSDS300's Y channel. The model is the example's
four convolutions + PixelShuffle with orthogonal init and the ReLU gain; MSE loss, Adam, PSNR.
"""
import argparse
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def make_set(n, upscale, rng):
    side = 8 * upscale
    yy, xx = np.mgrid[0:side, 0:side] / side
    freq = rng.uniform(0.5, 3.0, size=(n, 2, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    hr = 0.5 + 0.5 * np.sin(2 * np.pi * (freq[:, 0] * yy + freq[:, 1] * xx) + phase)
    lr = hr.reshape(n, 8, upscale, 8, upscale).mean(axis=(2, 4))
    return TensorDataset(torch.from_numpy(lr[:, None].astype(np.float32)),
                         torch.from_numpy(hr[:, None].astype(np.float32)))


def main():
    parser = argparse.ArgumentParser(description='PyTorch Super Res Example')
    parser.add_argument('--upscale_factor', type=int, default=2,
                        help="super resolution upscale factor")
    parser.add_argument('--batchSize', type=int, default=8, help='training batch size')
    parser.add_argument('--testBatchSize', type=int, default=8, help='testing batch size')
    parser.add_argument('--nEpochs', type=int, default=3, help='number of epochs to train for')
    parser.add_argument('--lr', type=float, default=0.01, help='Learning Rate. Default=0.01')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=123, help='random seed to use. Default=123')
    parser.add_argument('--checkpoint', default='', help='save the model here after each epoch')
    opt = parser.parse_args()
    print(opt)

    torch.manual_seed(opt.seed)
    device = torch.device(opt.device)
    rng = np.random.default_rng(opt.seed)

    print('===> Loading datasets')
    training_data_loader = DataLoader(dataset=make_set(24, opt.upscale_factor, rng),
                                      batch_size=opt.batchSize, shuffle=True)
    testing_data_loader = DataLoader(dataset=make_set(8, opt.upscale_factor, rng),
                                     batch_size=opt.testBatchSize, shuffle=False)

    print('===> Building model')
    model = Net(upscale_factor=opt.upscale_factor).to(device)
    criterion = nn.MSELoss()

    optimizer = optim.Adam(model.parameters(), lr=opt.lr)

    def train(epoch):
        epoch_loss = 0
        for iteration, batch in enumerate(training_data_loader, 1):
            input, target = batch[0].to(device), batch[1].to(device)

            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()

            print("===> Epoch[{}]({}/{}): Loss: {:.4f}".format(
                epoch, iteration, len(training_data_loader), loss.item()))

        print("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(
            epoch, epoch_loss / len(training_data_loader)))

    def test():
        avg_psnr = 0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0].to(device), batch[1].to(device)

                prediction = model(input)
                mse = criterion(prediction, target)
                psnr = 10 * log10(1 / mse.item())
                avg_psnr += psnr
        print("===> Avg. PSNR: {:.4f} dB".format(avg_psnr / len(testing_data_loader)))

    for epoch in range(1, opt.nEpochs + 1):
        train(epoch)
        test()
        if opt.checkpoint:
            torch.save(model.state_dict(), opt.checkpoint)


if __name__ == '__main__':
    main()
