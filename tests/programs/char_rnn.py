"""Character-level RNN name classifier, written like the PyTorch tutorial "NLP From Scratch:
Classifying Names with a Character-Level RNN" (nn.RNN version).

Synthetic "names" (each language class prefers its own letters; NumPy, fixed seed) replace
the names dataset. One-hot letters -> nn.RNN -> Linear on the last hidden state -> LogSoftmax;
NLLLoss summed over a mini-batch of single names, clip_grad_norm_(3), SGD.
"""
import argparse
import string

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset

allowed_characters = string.ascii_letters + " .,;'"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class NamesDataset(Dataset):

    def __init__(self, n, labels_uniq, rng):
        self.labels_uniq = labels_uniq
        self.data, self.data_tensors, self.labels, self.labels_tensors = [], [], [], []
        prefs = [rng.dirichlet(np.full(26, 0.3)) for _ in labels_uniq]
        for _ in range(n):
            k = int(rng.integers(len(labels_uniq)))
            length = int(rng.integers(3, 7))
            name = ''.join(string.ascii_lowercase[i] for i in rng.choice(26, length, p=prefs[k]))
            name = name.capitalize()
            self.data.append(name)
            self.data_tensors.append(lineToTensor(name))
            self.labels.append(labels_uniq[k])
            self.labels_tensors.append(torch.tensor([k], dtype=torch.long))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx], self.data[idx]


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()

        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)

        return output


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


def train(rnn, training_data, n_epoch, n_batch_size, report_every, learning_rate, rng, device):
    current_loss = 0
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()

    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()  # clear the gradients

        # create some minibatches; we cannot use dataloaders because each of our names is a
        # different length
        batches = list(range(len(training_data)))
        rng.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)

        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:  # for each example in this batch
                (label_tensor, text_tensor, label, text) = training_data[int(i)]
                output = rnn.forward(text_tensor.to(device))
                loss = criterion(output, label_tensor.to(device))
                batch_loss += loss

            # optimize parameters
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()

            current_loss += batch_loss.item() / len(batch)

        all_losses.append(current_loss / len(batches))
        if iter % report_every == 0:
            print(f"{iter} ({iter / n_epoch:.0%}): \t average batch loss = {all_losses[-1]}")
        current_loss = 0

    return all_losses


def evaluate(rnn, testing_data, classes, device):
    correct = 0
    rnn.eval()
    with torch.no_grad():
        for i in range(len(testing_data)):
            (label_tensor, text_tensor, label, text) = testing_data[i]
            output = rnn(text_tensor.to(device))
            guess, guess_i = label_from_output(output, classes)
            correct += int(guess == label)
    return correct / len(testing_data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--hidden', type=int, default=16)
    parser.add_argument('--lr', type=float, default=0.15)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=2024)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    rng = np.random.default_rng(args.seed)
    classes = ['Czech', 'German', 'Italian']
    train_set = NamesDataset(32, classes, rng)
    test_set = NamesDataset(16, classes, rng)
    print(f"train examples = {len(train_set)}, validation examples = {len(test_set)}")

    rnn = CharRNN(n_letters, args.hidden, len(classes)).to(device)
    print(rnn)
    train(rnn, train_set, n_epoch=args.epochs, n_batch_size=args.batch_size, report_every=1,
          learning_rate=args.lr, rng=rng, device=device)
    print(f"accuracy: {evaluate(rnn, test_set, classes, device):.2%}")


if __name__ == '__main__':
    main()
