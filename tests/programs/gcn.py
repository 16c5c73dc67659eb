"""Graph convolutional network (Kipf & Welling), written like the public pygcn implementation.

A synthetic stochastic-block-model graph with class-dependent features (NumPy, fixed seed)
replaces Cora. The symmetric-normalised adjacency D^-1/2 (A + I) D^-1/2 is built with NumPy,
then handed to torch as a sparse COO tensor; the layers multiply it with torch.sparse.mm and
torch.spmm.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.parameter import Parameter


class GraphConvolution(nn.Module):
    """Simple GCN layer, similar to https://arxiv.org/abs/1609.02907"""

    def __init__(self, in_features, out_features, bias=True, use_spmm=False):
        super(GraphConvolution, self).__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.use_spmm = use_spmm
        self.weight = Parameter(torch.FloatTensor(in_features, out_features))
        if bias:
            self.bias = Parameter(torch.FloatTensor(out_features))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.spmm(adj, support) if self.use_spmm else torch.sparse.mm(adj, support)
        if self.bias is not None:
            return output + self.bias
        else:
            return output

    def __repr__(self):
        return self.__class__.__name__ + ' (' + str(self.in_features) + ' -> ' \
            + str(self.out_features) + ')'


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super(GCN, self).__init__()

        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass, use_spmm=True)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


def sparse_mx_to_torch_sparse_tensor(rows, cols, vals, n):
    """Convert COO triplets to a torch sparse tensor."""
    indices = torch.from_numpy(np.vstack((rows, cols)).astype(np.int64))
    values = torch.from_numpy(vals.astype(np.float32))
    return torch.sparse_coo_tensor(indices, values, torch.Size((n, n)))


def load_data(n_nodes, n_classes, n_feat, rng):
    labels = rng.integers(0, n_classes, n_nodes)
    same = labels[:, None] == labels[None, :]
    adj = rng.random((n_nodes, n_nodes)) < np.where(same, 0.25, 0.02)
    adj = np.triu(adj, 1)
    adj = adj | adj.T
    a_hat = adj.astype(np.float64) + np.eye(n_nodes)
    d_inv_sqrt = 1.0 / np.sqrt(a_hat.sum(1))
    norm = d_inv_sqrt[:, None] * a_hat * d_inv_sqrt[None, :]
    rows, cols = np.nonzero(norm)
    centers = rng.standard_normal((n_classes, n_feat))
    features = centers[labels] + 2.0 * rng.standard_normal((n_nodes, n_feat))
    features = features / np.abs(features).sum(1, keepdims=True)  # row-normalise
    return (sparse_mx_to_torch_sparse_tensor(rows, cols, norm[rows, cols], n_nodes),
            torch.FloatTensor(features.astype(np.float32)), torch.LongTensor(labels))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=42, help='Random seed.')
    parser.add_argument('--epochs', type=int, default=12, help='Number of epochs to train.')
    parser.add_argument('--lr', type=float, default=0.01, help='Initial learning rate.')
    parser.add_argument('--weight_decay', type=float, default=5e-4)
    parser.add_argument('--hidden', type=int, default=16, help='Number of hidden units.')
    parser.add_argument('--dropout', type=float, default=0.5)
    args = parser.parse_args()

    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)

    adj, features, labels = load_data(60, 3, 12, np.random.default_rng(args.seed))
    idx_train = torch.LongTensor(range(0, 30))
    idx_val = torch.LongTensor(range(30, 45))
    idx_test = torch.LongTensor(range(45, 60))

    model = GCN(nfeat=features.shape[1], nhid=args.hidden, nclass=int(labels.max()) + 1,
                dropout=args.dropout)
    optimizer = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    model.to(device)
    features, adj, labels = features.to(device), adj.to(device), labels.to(device)
    idx_train, idx_val, idx_test = idx_train.to(device), idx_val.to(device), idx_test.to(device)
    assert adj.is_sparse and adj.coalesce().values().numel() == adj._nnz()

    def train(epoch):
        t = time.time()
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()

        model.eval()
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        print('Epoch: {:04d}'.format(epoch + 1), 'loss_train: {:.4f}'.format(loss_train.item()),
              'acc_train: {:.4f}'.format(acc_train.item()),
              'loss_val: {:.4f}'.format(loss_val.item()), 'acc_val: {:.4f}'.format(acc_val.item()),
              'time: {:.4f}s'.format(time.time() - t))

    for epoch in range(args.epochs):
        train(epoch)

    model.eval()
    output = model(features, adj)
    loss_test = F.nll_loss(output[idx_test], labels[idx_test])
    acc_test = accuracy(output[idx_test], labels[idx_test])
    print("Test set results:", "loss= {:.4f}".format(loss_test.item()),
          "accuracy= {:.4f}".format(acc_test.item()))


if __name__ == '__main__':
    main()
