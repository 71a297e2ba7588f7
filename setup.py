import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version():
    scope = {}
    with open(osp.join(HERE, 'medkd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(name):
    """Requirement lines of requirements/<name>.txt (comments dropped)."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


setup(
    name='medkd',
    version=get_version(),
    description='Knowledge distillation for medical images, '
    'built on mmengine and mmpretrain',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    # medkd/.mim/configs links to configs/ so that downstream configs can
    # inherit `medkd::<path>` (OpenMMLab's layout); wheels carry copies.
    package_data={
        'medkd': ['.mim/model-index.yml', '.mim/configs/*.py',
                  '.mim/configs/*/*.py', '.mim/configs/*/*/*.py']
    },
    python_requires='>=3.9',
    install_requires=parse_requirements('runtime'),
    extras_require=dict(
        tests=parse_requirements('tests'),
        optional=parse_requirements('optional'),
        docs=parse_requirements('docs'),
    ),
)
